// A subscriber of the SCIM service's provisioning events in TypeScript, written from
// docs/events.md alone: it keeps a copy of each directory's users, groups and
// memberships.
//
//   npm ci && npm run build
//   NATS_URL=nats://127.0.0.1:4222 NATS_USER=scim-subscriber NATS_PASSWORD=… npm start
//
// What docs/events.md asks of a subscriber, and where it is done here:
// - log in as a subscriber user, with replies on its own inbox prefix: `main`;
// - a durable pull consumer of its own, explicit acks, unbounded redelivery: `start`;
// - where it starts is what it kept: its copy and positions, kept in one file
//   (DIRECTORY_COPY_STATE) saved before what was applied is acknowledged, resume the
//   consumer; without them the consumer is made anew from a snapshot
//   (DIRECTORY_COPY_SNAPSHOT, `scimctl directory snapshot`) or from the stream's first
//   event: `start`;
// - the ordering rule (apply a resource's next version, drop what was applied, hold
//   back what comes early with a delayed Nak), de-duplication by event id, Term for what
//   is no event of contract v1: `handle`; Ack once what was applied is saved: `settle`.

import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";

const STREAM = "SCIM_EVENTS";
const HOLD_BACK_MS = 500; // how long an early event waits before it comes back
const RECENT_IDS = 10_000; // event ids remembered for de-duplication
const SECOND_NS = 1_000_000_000;

type Resource = Record<string, unknown>;

interface Event {
  id: string;
  type: string;
  contract_version: number;
  directory_id: string;
  resource_type: string;
  resource_id: string;
  resource_version: number;
  resource: Resource;
  member_ids?: string[];
}

/** A representation without what changes with no event of its own. */
function comparable(resource: Resource): Resource {
  const { meta: _meta, groups: _groups, members: _members, ...rest } = resource;
  return rest;
}

interface SavedCopy {
  users: Record<string, Resource>;
  groups: Record<string, { resource: Resource; members: string[] }>;
  deleted: string[];
}

/** One directory's users, groups and memberships, as its events built them. */
class Copy {
  users: Map<string, Resource>;
  groups: Map<string, { resource: Resource; members: Set<string> }>;
  deleted: Set<string>;

  constructor(saved?: SavedCopy) {
    this.users = new Map(Object.entries(saved?.users ?? {}));
    this.groups = new Map(
      Object.entries(saved?.groups ?? {}).map(([id, g]) => [id, { resource: g.resource, members: new Set(g.members) }]),
    );
    this.deleted = new Set(saved?.deleted ?? []);
  }

  saved(): SavedCopy {
    const groups: SavedCopy["groups"] = {};
    for (const [id, g] of this.groups) groups[id] = { resource: g.resource, members: [...g.members].sort() };
    return { users: Object.fromEntries(this.users), groups, deleted: [...this.deleted].sort() };
  }

  group(id: string): { resource: Resource; members: Set<string> } {
    let group = this.groups.get(id);
    if (!group) {
      group = { resource: {}, members: new Set() };
      this.groups.set(id, group);
    }
    return group;
  }

  apply(event: Event): void {
    const id = event.resource_id;
    switch (event.type) {
      case "user.created":
      case "user.updated":
      case "user.deactivated":
      case "user.reactivated":
        this.users.set(id, comparable(event.resource));
        break;
      case "user.deleted":
        this.users.delete(id);
        this.deleted.add(id);
        for (const group of this.groups.values()) group.members.delete(id);
        break;
      case "group.created":
      case "group.updated":
        this.group(id).resource = comparable(event.resource);
        break;
      case "group.members_added": {
        const members = this.group(id).members;
        // A membership event can come after its user's deletion (a redelivery).
        for (const user of event.member_ids ?? []) if (!this.deleted.has(user)) members.add(user);
        break;
      }
      case "group.members_removed":
        for (const user of event.member_ids ?? []) this.groups.get(id)?.members.delete(user);
        break;
      case "group.deleted":
        this.groups.delete(id);
        break;
      case "directory.deleted":
        this.users.clear();
        this.groups.clear();
        this.deleted.clear();
        break;
      // Other types (teams, directory settings, types added later) change no copy.
    }
  }
}

/** The copies and the positions (the last version applied of each resource), kept
 * together in one file. */
class State {
  copies = new Map<string, Copy>();
  positions = new Map<string, number>(); // `${resource_type} ${resource_id}` -> version
  recent = new Set<string>();

  constructor(readonly path: string) {}

  load(): void {
    const saved = JSON.parse(readFileSync(this.path, "utf8"));
    this.copies = new Map(Object.entries(saved.copies as Record<string, SavedCopy>).map(([d, c]) => [d, new Copy(c)]));
    for (const [type, id, version] of saved.positions.resources as [string, string, number][]) {
      this.positions.set(`${type} ${id}`, version);
    }
  }

  /** Written whole beside the file, then renamed over it: a crash leaves the last state
   * or the new one, never half of one. */
  save(): void {
    const copies = Object.fromEntries([...this.copies].map(([d, c]) => [d, c.saved()]));
    const resources = [...this.positions].sort().map(([key, version]) => [...key.split(" "), version]);
    writeFileSync(`${this.path}.partial`, JSON.stringify({ copies, positions: { from_now: false, resources } }));
    renameSync(`${this.path}.partial`, this.path);
  }

  copy(directory: string): Copy {
    let copy = this.copies.get(directory);
    if (!copy) {
      copy = new Copy();
      this.copies.set(directory, copy);
    }
    return copy;
  }

  /** A directory's snapshot (docs/events.md, "Starting on an existing directory"): the
   * copy, the positions, and the stream sequence it is consistent with. */
  loadSnapshot(path: string): number {
    const lines = readFileSync(path, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
    const [header, end] = [lines[0], lines[lines.length - 1]];
    if (header?.snapshot !== "header" || end?.snapshot !== "end" || end.lines !== lines.length - 1) {
      throw new Error(`${path} is not a whole snapshot: take it again`);
    }
    const copy = this.copy(header.directory_id);
    const types: Record<string, string> = { directory: "Directory", user: "User", group: "Group", team: "Team" };
    for (const line of lines.slice(1, -1)) {
      const type = types[line.snapshot];
      if (type) {
        this.positions.set(`${type} ${line.resource.id}`, line.resource_version);
        if (line.snapshot === "user") copy.users.set(line.resource.id, comparable(line.resource));
        if (line.snapshot === "group") copy.group(line.resource.id).resource = comparable(line.resource);
      } else if (line.snapshot === "members") {
        for (const user of line.member_ids) copy.group(line.group_id).members.add(user);
      } else if (line.snapshot === "pending") {
        const key = `${line.resource_type} ${line.resource_id}`;
        this.positions.set(key, Math.max(this.positions.get(key) ?? 0, line.resource_version));
      }
    }
    return header.start_after_sequence;
  }
}

/** The consumer, from what was kept: resumed with kept positions; made anew (what a
 * consumer of this name delivered belongs to data that is gone) from a snapshot or from
 * the stream's first event otherwise. */
async function start(jsm: JetStreamManager, state: State, durable: string, subjects: string): Promise<void> {
  const notFound = (e: unknown) => e instanceof JetStreamApiError && e.code === JetStreamApiCodes.ConsumerNotFound;
  let deliver: Partial<ConsumerConfig> = { deliver_policy: DeliverPolicy.All };
  if (existsSync(state.path)) {
    state.load();
    console.log(`resuming from ${state.path}`);
    try {
      await jsm.consumers.info(STREAM, durable);
      return; // resumed where it stands
    } catch (e) {
      if (!notFound(e)) throw e;
      // Gone (an hour without the subscriber): made again from the stream's first event,
      // what was applied is dropped as seen.
    }
  } else {
    try {
      await jsm.consumers.delete(STREAM, durable);
    } catch (e) {
      if (!notFound(e)) throw e;
    }
    const snapshot = process.env.DIRECTORY_COPY_SNAPSHOT;
    if (snapshot) {
      const after = state.loadSnapshot(snapshot);
      console.log(`starting from the snapshot ${snapshot}`);
      deliver = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 };
    } else {
      const info = await jsm.streams.info(STREAM);
      if (info.state.first_seq > 1) {
        throw new Error("the stream no longer holds its first events: start from a snapshot (DIRECTORY_COPY_SNAPSHOT)");
      }
      console.log("starting from the stream's first event");
    }
  }
  await jsm.consumers.add(STREAM, {
    durable_name: durable,
    filter_subject: subjects,
    ack_policy: AckPolicy.Explicit,
    ack_wait: 30 * SECOND_NS,
    max_deliver: -1, // the subscriber decides when to give up (Term)
    inactive_threshold: 3600 * SECOND_NS, // a demo's consumer goes an hour after the demo
    ...deliver,
  });
}

/** One message: applied to the copy (true), or settled at once (false) by what became
 * of it. An applied one is acknowledged once the state holding it is saved. */
function handle(msg: JsMsg, state: State): boolean {
  let event: Event;
  try {
    event = msg.json<Event>();
    if (event.contract_version !== 1 || typeof event.resource_version !== "number") throw new Error("not contract v1");
  } catch (e) {
    console.log(`${msg.subject}: not an event of contract v1 (${e}): terminated`);
    msg.term();
    return false;
  }
  const key = `${event.resource_type} ${event.resource_id}`;
  const last = state.positions.get(key) ?? 0;
  if (state.recent.has(event.id) || event.resource_version <= last) {
    msg.ack(); // a duplicate publish or a redelivery: applied before
    return false;
  }
  if (event.resource_version > last + 1) {
    msg.nak(HOLD_BACK_MS); // an earlier event of the resource comes first
    return false;
  }
  const copy = state.copy(event.directory_id);
  copy.apply(event);
  state.positions.set(key, event.resource_version);
  state.recent.add(event.id);
  if (state.recent.size > RECENT_IDS) state.recent.delete(state.recent.values().next().value as string);
  console.log(`${event.type.padEnd(26)} directory ${event.directory_id}: ${copy.users.size} users, ${copy.groups.size} groups`);
  return true;
}

/** A batch: each handled; the state saved once for those applied, and only then are
 * they acknowledged (a crash before leaves them to be delivered again). */
function settle(messages: JsMsg[], state: State): void {
  const applied = messages.filter((msg) => handle(msg, state));
  if (applied.length > 0) {
    state.save();
    for (const msg of applied) msg.ack();
  }
}

async function main(): Promise<void> {
  const user = process.env.NATS_USER ?? "";
  const state = new State(process.env.DIRECTORY_COPY_STATE ?? "directory-copy.json");
  const durable = process.env.DIRECTORY_COPY_DURABLE ?? "directory-copy-typescript";
  const directory = process.env.DIRECTORY_COPY_DIRECTORY;
  const nc = await connect({
    servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
    user,
    pass: process.env.NATS_PASSWORD ?? "",
    // Replies come back on the user's own inbox prefix (deploy/nats/permissions.conf).
    inboxPrefix: `_INBOX_${user}`,
  });
  await start(await jetstreamManager(nc), state, durable, directory ? `scim.v1.${directory}.>` : "scim.v1.>");
  const consumer = await jetstream(nc).consumers.get(STREAM, durable);
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => { stopping = true; });
  while (!stopping) {
    const batch: JsMsg[] = [];
    for await (const msg of await consumer.fetch({ max_messages: 100, expires: 1000 })) batch.push(msg);
    settle(batch, state);
  }
  await nc.drain();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
