"""Post a plan as a pull-request comment, or update the one posted before (a "sticky" comment).

    python -m reconciler.ci.sticky_comment --platform github --body-file comment.md
    python -m reconciler.ci.sticky_comment --platform gitlab --body-file comment.md

The comment is found again by its marker, the first line `plan --markdown` writes
(`<!-- reconciler:plan env=NAME -->`): one comment per environment, edited in place on every push,
never a new one each time. Standard library only, so it runs wherever reconciler is installed.

GitHub: `GITHUB_TOKEN`, `GITHUB_REPOSITORY`, the pull request from `GITHUB_EVENT_PATH` (or
`--number`), `GITHUB_API_URL` (default https://api.github.com); issue-comments REST API.
GitLab: `RECONCILER_GITLAB_TOKEN` (a project or personal access token with `api` scope; sent as
`PRIVATE-TOKEN`), `CI_API_V4_URL`, `CI_PROJECT_ID`, `CI_MERGE_REQUEST_IID` (or `--number`);
merge-request notes API. Outside a pull/merge request it says so and does nothing (exit 0).
The token is never printed. Exit 1 when the API refuses, with its status and message.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MARKER_PREFIX = "<!-- reconciler:plan"
PAGE = 100
MAX_PAGES = 50  # 5,000 comments: more than any pull request has


class CommentError(Exception):
    pass


class Api:
    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.base = base.rstrip("/")
        self.headers = headers

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        for k, v in {**self.headers, "Content-Type": "application/json", "User-Agent": "reconciler"}.items():
            request.add_header(k, v)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode() or "null"
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")[:300]
            raise CommentError(f"{method} {path}: HTTP {e.code}: {detail}") from None
        except urllib.error.URLError as e:
            raise CommentError(f"{method} {path}: {e.reason}") from None
        return json.loads(text)


def marker_of(body: str) -> str:
    first = body.split("\n", 1)[0].strip()
    if not first.startswith(MARKER_PREFIX):
        raise CommentError(
            f"the comment does not start with a {MARKER_PREFIX} … --> marker line; make it with 'reconciler plan --markdown'"
        )
    return first


def _pages(api: Api, path: str) -> Iterator[dict[str, Any]]:
    for page in range(1, MAX_PAGES + 1):
        items = api.call("GET", f"{path}{'&' if '?' in path else '?'}per_page={PAGE}&page={page}")
        if not isinstance(items, list):
            raise CommentError(f"GET {path}: expected a list of comments")
        yield from items
        if len(items) < PAGE:
            return


def _find(api: Api, path: str, marker: str) -> dict[str, Any] | None:
    for item in _pages(api, path):
        body = item.get("body") or ""
        if body.split("\n", 1)[0].strip() == marker:
            return item
    return None


def github(body: str, number: int | None) -> str:
    env = os.environ
    token = env.get("GITHUB_TOKEN")
    repo = env.get("GITHUB_REPOSITORY")
    if number is None and env.get("GITHUB_EVENT_PATH"):
        event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text() or "{}")
        number = (event.get("pull_request") or {}).get("number")
    if number is None:
        return "not a pull request: no comment posted"
    if not token or not repo:
        raise CommentError(
            "GITHUB_TOKEN and GITHUB_REPOSITORY must be set (the workflow needs 'pull-requests: write')"
        )
    api = Api(
        env.get("GITHUB_API_URL", "https://api.github.com"),
        {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"},
    )
    marker = marker_of(body)
    found = _find(api, f"/repos/{repo}/issues/{number}/comments", marker)
    if found is not None:
        api.call("PATCH", f"/repos/{repo}/issues/comments/{found['id']}", {"body": body})
        return f"updated comment {found['id']} on #{number}"
    made = api.call("POST", f"/repos/{repo}/issues/{number}/comments", {"body": body})
    return f"created comment {made.get('id')} on #{number}"


def gitlab(body: str, number: int | None) -> str:
    env = os.environ
    iid = number if number is not None else env.get("CI_MERGE_REQUEST_IID")
    if not iid:
        return "not a merge request pipeline: no comment posted"
    token = env.get("RECONCILER_GITLAB_TOKEN")
    base, project = env.get("CI_API_V4_URL"), env.get("CI_PROJECT_ID")
    if not token or not base or not project:
        raise CommentError(
            "RECONCILER_GITLAB_TOKEN (an access token with api scope), CI_API_V4_URL and CI_PROJECT_ID must be set"
        )
    api = Api(base, {"PRIVATE-TOKEN": token})
    marker = marker_of(body)
    path = f"/projects/{project}/merge_requests/{iid}/notes"
    found = _find(api, f"{path}?sort=asc", marker)
    if found is not None:
        api.call("PUT", f"{path}/{found['id']}", {"body": body})
        return f"updated note {found['id']} on !{iid}"
    made = api.call("POST", path, {"body": body})
    return f"created note {made.get('id')} on !{iid}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", choices=("github", "gitlab"), required=True)
    parser.add_argument("--body-file", required=True, help="the Markdown from 'reconciler plan --markdown'")
    parser.add_argument("--number", type=int, help="pull request (GitHub) or merge request IID (GitLab)")
    args = parser.parse_args(argv)
    try:
        body = Path(args.body_file).read_text(encoding="utf-8")
        said = (github if args.platform == "github" else gitlab)(body, args.number)
    except (CommentError, OSError) as e:
        print(f"reconciler comment: {e}", file=sys.stderr)
        return 1
    print(f"reconciler comment: {said}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
