"""A subscriber of the SCIM service's provisioning events in Python, written from
docs/events.md alone: it keeps a copy of each directory's users, groups and memberships.

    python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
    NATS_URL=nats://127.0.0.1:4222 NATS_USER=scim-subscriber NATS_PASSWORD=… \\
        .venv/bin/python directory_copy.py

What docs/events.md asks of a subscriber, and where it is done here:
- log in as a subscriber user, with replies on its own inbox prefix: `connect`;
- a durable pull consumer of its own, explicit acks, unbounded redelivery: `consumer`;
- where it starts is what it kept: its copy and positions, kept in one file
  (DIRECTORY_COPY_STATE) written with every event before the event is acknowledged,
  resume the consumer; without them, the consumer is made anew from a snapshot
  (DIRECTORY_COPY_SNAPSHOT, `scimctl directory snapshot`) or from the stream's first
  event: `start`;
- the ordering rule (apply a resource's next version, drop what was applied, hold back
  what comes early with a delayed Nak), de-duplication by event id, Term for what is no
  event of contract v1: `handle`; Ack once what was applied is saved: `settle`.
"""

import asyncio
import json
import os
import signal
import sys
from collections import OrderedDict

import nats
from nats.errors import TimeoutError as NoMessages
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

STREAM = "SCIM_EVENTS"
HOLD_BACK = 0.5  # seconds an early event waits before it comes back
RECENT_IDS = 10_000  # event ids remembered for de-duplication


def comparable(resource):
    """A representation without what changes with no event of its own (meta, a user's
    groups, a group's members)."""
    return {k: v for k, v in resource.items() if k not in ("meta", "groups", "members")}


class Copy:
    """One directory's users, groups and memberships, as its events built them."""

    def __init__(self, saved=None):
        saved = saved or {}
        self.users = saved.get("users", {})
        self.groups = saved.get("groups", {})  # id -> {"resource": …, "members": [ids]}
        self.deleted = set(saved.get("deleted", []))

    def saved(self):
        return {"users": self.users, "groups": self.groups, "deleted": sorted(self.deleted)}

    def group(self, gid):
        return self.groups.setdefault(gid, {"resource": {}, "members": []})

    def apply(self, event):
        rid, resource = event["resource_id"], event.get("resource") or {}
        kind = event["type"]
        if kind in ("user.created", "user.updated", "user.deactivated", "user.reactivated"):
            self.users[rid] = comparable(resource)
        elif kind == "user.deleted":
            self.users.pop(rid, None)
            self.deleted.add(rid)
            for group in self.groups.values():
                if rid in group["members"]:
                    group["members"].remove(rid)
        elif kind in ("group.created", "group.updated"):
            self.group(rid)["resource"] = comparable(resource)
        elif kind == "group.members_added":
            members = self.group(rid)["members"]
            for user in event.get("member_ids") or []:
                # A membership event can come after its user's deletion (a redelivery).
                if user not in self.deleted and user not in members:
                    members.append(user)
            members.sort()
        elif kind == "group.members_removed":
            group = self.groups.get(rid)
            for user in event.get("member_ids") or []:
                if group and user in group["members"]:
                    group["members"].remove(user)
        elif kind == "group.deleted":
            self.groups.pop(rid, None)
        elif kind == "directory.deleted":
            self.users, self.groups, self.deleted = {}, {}, set()
        # Other types (teams, directory settings, types added later) change no copy.


class State:
    """The copies and the positions (the last version applied of each resource), kept
    together in one file."""

    def __init__(self, path):
        self.path = path
        self.copies = {}
        self.positions = {}  # (resource_type, resource_id) -> version
        self.recent = OrderedDict()

    def load(self):
        with open(self.path) as f:
            saved = json.load(f)
        self.copies = {d: Copy(c) for d, c in saved["copies"].items()}
        self.positions = {(t, i): v for t, i, v in saved["positions"]["resources"]}

    def save(self):
        """Written whole beside the file, then renamed over it: a crash leaves the last
        state or the new one, never half of one."""
        saved = {
            "copies": {d: c.saved() for d, c in self.copies.items()},
            "positions": {"from_now": False,
                          "resources": [[t, i, v] for (t, i), v in sorted(self.positions.items())]},
        }
        partial = self.path + ".partial"
        with open(partial, "w") as f:
            json.dump(saved, f)
        os.replace(partial, self.path)

    def load_snapshot(self, path):
        """A directory's snapshot (docs/events.md, "Starting on an existing directory"):
        the copy, the positions, and the stream sequence it is consistent with."""
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        header, end = lines[0], lines[-1]
        if header.get("snapshot") != "header" or end.get("snapshot") != "end" \
                or end["lines"] != len(lines) - 1:
            raise SystemExit(f"{path} is not a whole snapshot: take it again")
        copy = self.copies.setdefault(header["directory_id"], Copy())
        types = {"directory": "Directory", "user": "User", "group": "Group", "team": "Team"}
        for line in lines[1:-1]:
            kind = line["snapshot"]
            if kind in types:
                rid = line["resource"]["id"]
                self.positions[(types[kind], rid)] = line["resource_version"]
                if kind == "user":
                    copy.users[rid] = comparable(line["resource"])
                elif kind == "group":
                    copy.group(rid)["resource"] = comparable(line["resource"])
            elif kind == "members":
                members = copy.group(line["group_id"])["members"]
                members.extend(line["member_ids"])
                members.sort()
            elif kind == "pending":
                key = (line["resource_type"], line["resource_id"])
                self.positions[key] = max(self.positions.get(key, 0), line["resource_version"])
        return header["start_after_sequence"]


async def connect():
    user = os.environ.get("NATS_USER", "")
    return await nats.connect(
        os.environ.get("NATS_URL", "nats://127.0.0.1:4222"),
        user=user,
        password=os.environ.get("NATS_PASSWORD", ""),
        # Replies come back on the user's own inbox prefix (deploy/nats/permissions.conf).
        inbox_prefix=f"_INBOX_{user}",
    )


async def start(js, state, durable, subjects):
    """The consumer, from what was kept: resumed with kept positions; made anew (what a
    consumer of this name delivered belongs to data that is gone) from a snapshot or from
    the stream's first event otherwise."""
    if os.path.exists(state.path):
        state.load()
        print(f"resuming from {state.path}", flush=True)
        deliver = {"deliver_policy": DeliverPolicy.ALL}
    else:
        try:
            await js.delete_consumer(STREAM, durable)
        except NotFoundError:
            pass
        snapshot = os.environ.get("DIRECTORY_COPY_SNAPSHOT")
        if snapshot:
            after = state.load_snapshot(snapshot)
            print(f"starting from the snapshot {snapshot}", flush=True)
            deliver = {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": after + 1}
        else:
            info = await js.stream_info(STREAM)
            if info.state.first_seq > 1:
                raise SystemExit("the stream no longer holds its first events: "
                                 "start from a snapshot (DIRECTORY_COPY_SNAPSHOT)")
            print("starting from the stream's first event", flush=True)
            deliver = {"deliver_policy": DeliverPolicy.ALL}
    config = ConsumerConfig(
        durable_name=durable,
        filter_subject=subjects,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=30,
        max_deliver=-1,  # the subscriber decides when to give up (Term)
        inactive_threshold=3600,  # a demo's consumer goes an hour after the demo
        **deliver,
    )
    # Its deliveries come on the connection's inbox prefix, as every reply does.
    return await js.pull_subscribe(subjects, durable=durable, stream=STREAM, config=config)


async def handle(msg, state):
    """One message: applied to the copy (True), or settled at once (False) by what became
    of it. An applied one is acknowledged once the state holding it is saved."""
    try:
        event = json.loads(msg.data)
        if event.get("contract_version") != 1:
            raise ValueError("not contract v1")
        key = (event["resource_type"], event["resource_id"])
        version = event["resource_version"]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        print(f"{msg.subject}: not an event of contract v1 ({e}): terminated", flush=True)
        await msg.term()
        return False
    last = state.positions.get(key, 0)
    if event["id"] in state.recent or version <= last:
        await msg.ack()  # a duplicate publish or a redelivery: applied before
        return False
    if version > last + 1:
        await msg.nak(delay=HOLD_BACK)  # an earlier event of the resource comes first
        return False
    copy = state.copies.setdefault(event["directory_id"], Copy())
    copy.apply(event)
    state.positions[key] = version
    state.recent[event["id"]] = None
    if len(state.recent) > RECENT_IDS:
        state.recent.popitem(last=False)
    print(f"{event['type']:<26} directory {event['directory_id']}: {len(copy.users)} users, "
          f"{len(copy.groups)} groups", flush=True)
    return True


async def settle(messages, state):
    """A batch: each handled; the state saved once for those applied, and only then are
    they acknowledged (a crash before leaves them to be delivered again)."""
    applied = [msg for msg in messages if await handle(msg, state)]
    if applied:
        state.save()
        for msg in applied:
            await msg.ack()


async def main():
    state = State(os.environ.get("DIRECTORY_COPY_STATE", "directory-copy.json"))
    durable = os.environ.get("DIRECTORY_COPY_DURABLE", "directory-copy-python")
    directory = os.environ.get("DIRECTORY_COPY_DIRECTORY")
    subjects = f"scim.v1.{directory}.>" if directory else "scim.v1.>"
    nc = await connect()
    js = nc.jetstream()
    subscription = await start(js, state, durable, subjects)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    while not stop.is_set():
        try:
            messages = await subscription.fetch(100, timeout=1)
        except NoMessages:
            continue
        await settle(messages, state)
    await nc.drain()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except SystemExit as e:
        print(e, file=sys.stderr)
        sys.exit(1)
