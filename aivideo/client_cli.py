"""Client commands (create, status, continue, open): a terminal on a running server's API.

They speak only the public GraphQL API: HTTP for operations, the `graphql-transport-ws`
websocket for `videoStatus`, which drives one progress bar per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import webbrowser
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx
import websockets
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn

DEFAULT_URL = "http://127.0.0.1:8000"
# Overall progress (0..100) each phase covers, as the server reports it (SPEC rule 11).
PHASES = {
    1: ("1 plan", 0.0, 20.0),
    2: ("2 storyboard", 20.0, 40.0),
    3: ("3 clips", 40.0, 90.0),
    4: ("4 music & final", 90.0, 100.0),
}
ENDED = {"COMPLETE", "FAILED", "CANCELLED"}
PAUSED = {"PAUSED_AT_PHASE1", "PAUSED_AT_PHASE2", "PAUSED_AT_PHASE3"}

CREATE = """mutation($input: CreateVideoInput!) { createVideo(input: $input) { id status } }"""
STATUS = """query($id: ID!) {
  video(id: $id) {
    id title status progress currentPhase error costUsd budgetUsd durationSeconds autoContinue
    currentCheckpoint { id phase branchName }
    finalVideo { url }
    branches { name status phase progress canContinue canRetry error }
  }
}"""
CONTINUE = """mutation($id: ID!, $branchName: String) {
  continueCheckpoint(checkpointId: $id, branchName: $branchName) {
    nextPhase createdNewBranch branch { name } checkpoint { video { id } }
  }
}"""
VIDEO_STATUS = """subscription($id: ID!) {
  videoStatus(videoId: $id) { status progress currentPhase branchName }
}"""
AFTER_WAIT = """query($id: ID!) {
  video(id: $id) { error finalVideo { url } currentCheckpoint { id phase } }
}"""


class ClientError(Exception):
    """What went wrong, in one line for the terminal."""


def version_line() -> str:
    try:
        return f"aivideo {version('aivideo')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "aivideo (not installed)"


@dataclass
class Api:
    """The server at `url`, as the holder of `key` (or nobody, on an open server)."""

    url: str
    key: str | None

    @property
    def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    def call(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run one operation; its data, or a ClientError with the error's code."""
        try:
            response = httpx.post(
                f"{self.url}/graphql",
                json={"query": query, "variables": variables},
                headers=self.authorization,
                timeout=120,
            )
        except httpx.TransportError as exc:
            raise ClientError(
                f"cannot reach {self.url} ({exc}); is `aivideo serve` running?"
            ) from None
        try:
            body = response.json()
        except ValueError:
            raise ClientError(
                f"{self.url} answered HTTP {response.status_code}, not GraphQL"
            ) from None
        if body.get("errors"):
            error = body["errors"][0]
            code = error.get("extensions", {}).get("code", f"HTTP {response.status_code}")
            raise ClientError(f"{code}: {error['message']}")
        return dict(body["data"])

    async def statuses(self, video_id: str) -> AsyncIterator[dict[str, Any]]:
        """videoStatus events: the current status first, then every change."""
        ws_url = "ws" + self.url.removeprefix("http") + "/graphql"
        try:
            connection = await websockets.connect(
                ws_url,
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            )
        except (OSError, websockets.InvalidHandshake) as exc:
            raise ClientError(f"cannot open the websocket {ws_url} ({exc})") from None
        async with connection:
            init = {"type": "connection_init", "payload": self.authorization}
            await connection.send(json.dumps(init))
            payload = {"query": VIDEO_STATUS, "variables": {"id": video_id}}
            await connection.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            try:
                async for raw in connection:
                    message = json.loads(raw)
                    kind = message["type"]
                    if kind == "ping":
                        await connection.send(json.dumps({"type": "pong"}))
                    elif kind == "next" and message["payload"].get("errors"):
                        raise ClientError(_error_line(message["payload"]["errors"]))
                    elif kind == "next":
                        yield message["payload"]["data"]["videoStatus"]
                    elif kind == "error":
                        raise ClientError(_error_line(message["payload"]))
                    elif kind == "complete":
                        return
            except websockets.ConnectionClosed as exc:
                raise ClientError(f"the server closed the websocket: {exc.rcvd or exc}") from None
        raise ClientError("the server closed the websocket")


def _error_line(errors: list[dict[str, Any]]) -> str:
    first = errors[0]
    return f"{first.get('extensions', {}).get('code', 'ERROR')}: {first.get('message')}"


def _api(args: argparse.Namespace) -> Api:
    return Api(url=args.url.rstrip("/"), key=os.environ.get("AIVIDEO_API_KEY") or None)


# ---- waiting, with a bar per phase ----


async def follow(
    api: Api, video_id: str, console: Console, *, until_paused: bool
) -> dict[str, Any]:
    """Show each phase's progress until the video completes, fails, stops (or pauses).

    A YOLO video passes through the paused states on its way (each checkpoint is stored,
    then approved): only a video that waits for review stops there.
    """
    columns = (TextColumn("{task.description:<16}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, console=console) as bars:
        tasks = {phase: bars.add_task(label, total=100) for phase, (label, _, _) in PHASES.items()}
        last_status = None
        async for event in api.statuses(video_id):
            _advance(bars, tasks, event["progress"])
            if event["status"] != last_status:
                last_status = event["status"]
                branch = f" (branch {event['branchName']})" if event["branchName"] else ""
                say(bars.console, f"{last_status.lower().replace('_', ' ')}{branch}")
            if last_status in ENDED or (until_paused and last_status in PAUSED):
                return event
    raise ClientError("the status subscription ended before the video did")


def say(console: Console, text: str) -> None:
    """A line of plain text: server messages may hold brackets rich would read as markup."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _advance(bars: Progress, tasks: dict[int, TaskID], progress: float) -> None:
    for phase, (_, start, end) in PHASES.items():
        done = min(max((progress - start) / (end - start), 0.0), 1.0)
        bars.update(tasks[phase], completed=round(done * 100, 1))


def _finish(api: Api, video_id: str, event: dict[str, Any], console: Console) -> int:
    """Print where the wait ended: the final video's URL, the checkpoint to review, or why."""
    video = api.call(AFTER_WAIT, {"id": video_id})["video"]
    status = event["status"]
    if status == "COMPLETE":
        say(console, "final video:")
        print(video["finalVideo"]["url"], flush=True)
        return 0
    if status in PAUSED:
        checkpoint = video["currentCheckpoint"]
        say(
            console,
            f"paused for review at phase {checkpoint['phase']}: `aivideo open {video_id}` to "
            f"look, `aivideo continue {checkpoint['id']}` to go on",
        )
        return 0
    say(console, f"{status.lower()}: {video['error'] or 'no reason given'}")
    return 1


def _wait(api: Api, video_id: str, *, until_paused: bool = True) -> int:
    console = Console(stderr=True)
    event = asyncio.run(follow(api, video_id, console, until_paused=until_paused))
    return _finish(api, video_id, event, console)


# ---- the commands ----


def create_command(args: argparse.Namespace) -> int:
    api = _api(args)
    fields: dict[str, Any] = {
        "prompt": args.prompt,
        "durationSeconds": args.duration,
        "autoContinue": args.yolo,
    }
    if args.title:
        fields["title"] = args.title
    if args.budget is not None:
        fields["budgetUsd"] = args.budget
    created = api.call(CREATE, {"input": fields})["createVideo"]
    print(created["id"], flush=True)
    return _wait(api, created["id"], until_paused=not args.yolo) if args.wait else 0


def status_command(args: argparse.Namespace) -> int:
    video = _api(args).call(STATUS, {"id": args.video})["video"]
    if video is None:
        raise ClientError(f"NOT_FOUND: no video {args.video}")
    budget = f" of ${video['budgetUsd']:.3f}" if video["budgetUsd"] is not None else ""
    lines = [
        f"{video['id']}  {video['title']}",
        f"status: {video['status']}  {video['progress']:.0f}%  "
        f"phase {video['currentPhase'] or '-'}",
        f"cost: ${video['costUsd']:.3f}{budget}",
    ]
    if video["error"]:
        lines.append(f"error: {video['error']}")
    if checkpoint := video["currentCheckpoint"]:
        lines.append(
            f"waiting for review: {checkpoint['id']} (phase {checkpoint['phase']}, "
            f"branch {checkpoint['branchName']})"
        )
    for branch in video["branches"]:
        can = [name for name in ("canContinue", "canRetry") if branch[name]]
        lines.append(
            f"  branch {branch['name']}: {branch['status']} phase {branch['phase'] or '-'} "
            f"{branch['progress']:.0f}%{'  ' + ', '.join(can) if can else ''}"
        )
    if video["finalVideo"]:
        lines.append(f"final video: {video['finalVideo']['url']}")
    print("\n".join(lines))
    return 0


def continue_command(args: argparse.Namespace) -> int:
    api = _api(args)
    result = api.call(CONTINUE, {"id": args.checkpoint, "branchName": args.branch})
    outcome = result["continueCheckpoint"]
    new = " (a new branch)" if outcome["createdNewBranch"] else ""
    branch = outcome["branch"]["name"]
    print(f"phase {outcome['nextPhase']} runs on branch {branch}{new}", flush=True)
    return _wait(api, outcome["checkpoint"]["video"]["id"]) if args.wait else 0


def open_command(args: argparse.Namespace) -> int:
    api = _api(args)
    if api.call("query($id: ID!) { video(id: $id) { id } }", {"id": args.video})["video"] is None:
        raise ClientError(f"NOT_FOUND: no video {args.video}")
    page = f"{api.url}/#video={args.video}"
    print(page)
    if not webbrowser.open(page):
        print("aivideo: no browser found here; open the address above", file=sys.stderr)
    return 0


def _run(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], None]:
    def run(args: argparse.Namespace) -> None:
        try:
            code = command(args)
        except ClientError as exc:
            sys.exit(f"aivideo: {exc}")
        except KeyboardInterrupt:
            sys.exit("aivideo: stopped (the video goes on on the server)")
        sys.exit(code)

    return run


def _server_flag(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get("AIVIDEO_URL") or DEFAULT_URL
    parser.add_argument(
        "--url",
        default=default,
        help="the aivideo server to talk to; the API key, if it needs one, comes from "
        "AIVIDEO_API_KEY (default: $AIVIDEO_URL or http://127.0.0.1:8000; now %(default)s)",
    )


def _wait_flag(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--wait",
        action="store_true",
        help=f"stay and show a progress bar per phase until {what}; then print the final "
        "video's URL, or the checkpoint to review (default: return at once)",
    )


def add_client_commands(commands: Any) -> None:
    """Register create, status, continue and open on the `aivideo` parser's subcommands."""
    create = commands.add_parser(
        "create",
        help="make a video on a running server; prints its id",
        description="Make a video from a prompt on a running server and print its id.",
    )
    create.add_argument("prompt", help="what the video shows, 10 to 1000 characters")
    create.add_argument(
        "--duration",
        type=int,
        default=30,
        help="length in seconds, 10 to 120 in steps of 5 (default: %(default)s)",
    )
    create.add_argument("--title", help="a title (default: one made from the prompt)")
    create.add_argument(
        "--budget", type=float, help="stop before paid calls pass this many USD (default: none)"
    )
    create.add_argument(
        "--yolo",
        action="store_true",
        help="approve every phase and run straight to the final video "
        "(default: pause after each phase for review)",
    )
    _wait_flag(create, "the video finishes or pauses for review")
    _server_flag(create)
    create.set_defaults(run=_run(create_command))

    status = commands.add_parser(
        "status", help="show a video's status, branches and final video", description=None
    )
    status.add_argument("video", help="the video's id (vid-…)")
    _server_flag(status)
    status.set_defaults(run=_run(status_command))

    go_on = commands.add_parser(
        "continue",
        help="approve a checkpoint and run the next phase",
        description="Approve a checkpoint and run the next phase; prints the branch it runs on.",
    )
    go_on.add_argument("checkpoint", help="the checkpoint's id (cp-…)")
    go_on.add_argument(
        "--branch",
        help="run the next phase on a new branch of this name "
        "(default: the checkpoint's branch, or a new one when that branch has moved on)",
    )
    _wait_flag(go_on, "the next phase is done")
    _server_flag(go_on)
    go_on.set_defaults(run=_run(continue_command))

    browse = commands.add_parser(
        "open", help="open a video's review page in the browser", description=None
    )
    browse.add_argument("video", help="the video's id (vid-…)")
    _server_flag(browse)
    browse.set_defaults(run=_run(open_command))
