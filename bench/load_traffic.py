"""The clients of bench/load.py: threads that send a customer's mix of requests to the stack
and check every answer against the contract as they go.

Each request is one :class:`Record`. Good requests carry an ``Idempotency-Key`` and are
retried with it after a 5xx or a lost connection (what docs/api.md tells clients to do), 1 s
and then 2 s later;
each try is a record of its own. Nothing here leaves loopback: every URL is checked first.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

from tests.devstack.http import Answer, http

REPO = Path(__file__).resolve().parents[1]
PRICE = 100  # the contract's price of an upscale
# The contract's 5xx codes: what a failure on the service's side may answer (refunded).
DOCUMENTED_5XX = frozenset({"processing_failed", "internal_error", "service_unavailable", "upscale_timeout"})
# The mix, by weight: mostly synchronous x2 and x4, some async jobs, some broken requests.
MIX = {"sync-x2": 40, "sync-x4": 25, "async": 20, "bad-input": 15}
NO_ANSWER = "no answer"  # a try's problem when its connection dropped: retried, and excused in a web kill
_TRIES = 3
_RETRY_PAUSE_S = 1.0  # before the first retry; doubled before each next one (1 s, then 2 s)
_POLL_S = 0.5
_FORMATS = {"png": ("PNG", "image/png"), "jpeg": ("JPEG", "image/jpeg")}


@dataclass(frozen=True)
class Sample:
    """An input image: a 48-96 px crop of a photo, as PNG or JPEG."""

    data: bytes
    format: str  # "png" or "jpeg", as the API names it
    size: tuple[int, int]

    def uri(self, data: bytes | None = None) -> str:
        encoded = base64.b64encode(self.data if data is None else data).decode()
        return f"data:{_FORMATS[self.format][1]};base64,{encoded}"

    def output_size(self, scale: int) -> tuple[int, int]:
        return self.size[0] * scale, self.size[1] * scale


def _sources() -> list[Path]:
    """The shared test photos beside the checkout when there are some, else the repo's cat."""
    shared = REPO.parent / "shared" / "images"
    found = sorted(path for path in shared.glob("*") if path.suffix in {".png", ".jpg"}) if shared.is_dir() else []
    return found or [REPO / "docs" / "examples" / "cat.png"]


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, _FORMATS[fmt][0], **({"quality": 90} if fmt == "jpeg" else {}))
    return buffer.getvalue()


def make_samples(rng: random.Random, count: int) -> list[Sample]:
    photos = [Image.open(path).convert("RGB") for path in _sources()]
    samples = []
    for index in range(count):
        photo = rng.choice(photos)
        width, height = rng.randint(48, 96), rng.randint(48, 96)
        left, top = rng.randint(0, photo.width - width), rng.randint(0, photo.height - height)
        fmt = ("png", "jpeg")[index % 2]
        samples.append(Sample(_encode(photo.crop((left, top, left + width, top + height)), fmt), fmt, (width, height)))
    return samples


def large_sample(size: tuple[int, int]) -> Sample:
    """A bigger image, whose x4 upscale runs long enough to be caught mid-job (a fault's
    victim); its size, unlike any of the traffic's, finds its request in the database."""
    with Image.open(_sources()[0]) as photo:
        return Sample(_encode(photo.convert("RGB").resize(size), "png"), "png", size)


@dataclass
class Record:
    """One HTTP request of the run (an async job: its submission and its polls until the end)."""

    client: int
    kind: str  # sync-x2, sync-x4, async, bad-input, or victim:<fault>
    detail: str  # the scale (x2, x4) or the broken input's variant
    started: float  # seconds since the run started
    answered: float = 0.0  # the POST's answer
    ended: float = 0.0  # the answer, or for an async job the poll that saw it finish
    status: int = 0  # HTTP status of the POST; 0: no answer
    code: str = ""  # error.code of an error answer
    request_id: str = ""
    attempt: int = 1
    outcome: str = ""  # async: succeeded, or failed:<code>
    delivered: bool = False  # a result link was handed out and its image checked
    problem: str = ""  # what broke the contract, if anything
    key: str = ""  # the Idempotency-Key its tries share

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Run:
    """What the clients share: where to send, the clock, the records, when to stop."""

    url: str
    key: str
    wait_s: float  # the stack's ARTNEX_WAIT_SECONDS: how long a synchronous answer may take
    started: float = field(default_factory=time.monotonic)
    records: list[Record] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    issued: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.monotonic() - self.started

    def add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)

    def ticket(self) -> bool:
        """May a client send one more request?"""
        with self.lock:
            if self.stop.is_set():
                return False
            self.issued += 1
            return True


def loopback(url: str) -> str:
    """``url`` itself, once it is known to name an address in 127.0.0.0/8 (never anything else)."""
    host = urlsplit(url).hostname or ""
    try:
        inside = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        inside = False
    if not inside:
        raise ValueError(f"refusing to leave loopback: {urlsplit(url)._replace(netloc=host).geturl()}")
    return url


def _post(run: Run, body: dict[str, Any], key: str | None) -> Answer | None:
    headers = {"Authorization": f"Bearer {run.key}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    try:
        return http("POST", loopback(f"{run.url}/v1/upscale"), json.dumps(body).encode(), headers,
                    timeout=run.wait_s + 60)
    except OSError:
        return None


def _get(url: str, headers: dict[str, str] | None = None) -> Answer | None:
    """A GET, tried again after a dropped connection (the web process died under it)."""
    for attempt in range(_TRIES):
        try:
            return http("GET", url, headers=headers, timeout=60)
        except OSError:
            if attempt + 1 < _TRIES:
                time.sleep(_RETRY_PAUSE_S)
    return None


def _body(answer: Answer) -> dict[str, Any]:
    """The JSON object answered; {} for anything else (which the checks then report)."""
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_code(answer: Answer) -> str:
    error = _body(answer).get("error")
    return str(error.get("code")) if isinstance(error, dict) else "<no error code>"


def check_result(body: dict[str, Any], sample: Sample, scale: int) -> str:
    """Why a success body or its image breaks the contract; "" when both are right."""
    expected = sample.output_size(scale)
    if (body.get("credits_used"), body.get("width"), body.get("height")) != (PRICE, *expected):
        return f"success body {body} does not match a {sample.size} x{scale} upscale charged {PRICE}"
    download = _get(loopback(str(body["image_url"])))
    if download is None:
        return f"result link answered nothing in {_TRIES} tries"
    if download.status != 200:
        return f"result link answered {download.status}"
    try:
        with Image.open(io.BytesIO(download.body)) as image:
            image.load()
            found = (image.format, image.size)
    except (OSError, ValueError) as exc:
        return f"result is not a readable image: {exc}"
    if found != (_FORMATS[sample.format][0], expected):
        return f"result is {found}, expected {(_FORMATS[sample.format][0], expected)}"
    return ""


def _judge_failure(record: Record, answer: Answer) -> None:
    record.code = _error_code(answer)
    if answer.status >= 500 and record.code not in DOCUMENTED_5XX:
        record.problem = f"{answer.status} with an undocumented code {record.code}"
    elif answer.status < 500:
        record.problem = f"unexpected {answer.status} {record.code}"


def _retrying(run: Run, make: Callable[[int], Record], attempt_once: Callable[[Record], bool]) -> list[Record]:
    """Try up to _TRIES times; ``attempt_once`` says whether the try may be repeated (a 5xx or
    no answer, which the contract leaves safe to retry with the same Idempotency-Key)."""
    records = []
    for attempt in range(1, _TRIES + 1):
        record = make(attempt)
        records.append(record)
        if not attempt_once(record):
            break
        # Backing off: the retries span an outage of a few seconds (a database restart), as a
        # client's exponential back-off does, rather than all landing inside it.
        time.sleep(_RETRY_PAUSE_S * 2 ** (attempt - 1))
    return records


def _submit(run: Run, record: Record, body: dict[str, Any], key: str) -> Answer | None:
    """POST the request and note what every answer records; None (noted as the problem) when
    no answer came, which the caller retries."""
    answer = _post(run, body, key)
    record.answered = record.ended = run.now()
    if answer is None:
        record.problem = NO_ANSWER
        return None
    record.status = answer.status
    record.request_id = str(_body(answer).get("request_id", ""))
    return answer


def sync_upscale(run: Run, client: int, sample: Sample, scale: int, kind: str) -> list[Record]:
    body, key = {"image": sample.uri(), "scale": scale}, str(uuid.uuid4())

    def once(record: Record) -> bool:
        answer = _submit(run, record, body, key)
        if answer is None:
            return True
        if answer.status == 200:
            record.problem = check_result(_body(answer), sample, scale)
            record.delivered = not record.problem
            return False
        _judge_failure(record, answer)
        return answer.status >= 500

    return _retrying(run, lambda attempt: Record(client, kind, f"x{scale}", run.now(), attempt=attempt, key=key),
                     once)


def _poll(run: Run, record: Record, status_url: str, sample: Sample, scale: int) -> None:
    """Follow an accepted job to its end, as a client polling its status URL does."""
    deadline = time.monotonic() + run.wait_s + 600  # a bound against a hang, not a measurement
    while time.monotonic() < deadline:
        answer = _get(loopback(status_url), {"Authorization": f"Bearer {run.key}"})
        body = _body(answer) if answer else {}
        if answer and answer.status == 200 and body.get("status") in ("succeeded", "failed"):
            record.ended = run.now()
            if body["status"] == "failed":
                record.outcome = f"failed:{body['error']['code']}"
                if body["error"]["code"] not in DOCUMENTED_5XX:
                    record.problem = f"async job failed with an undocumented code {body['error']['code']}"
                return
            record.outcome = "succeeded"
            record.problem = check_result(body, sample, scale)
            record.delivered = not record.problem
            return
        time.sleep(_POLL_S)
    record.problem = f"async job {record.request_id} did not finish"


def _replay(run: Run, record: Record, body: dict[str, Any], key: str) -> None:
    """The same submission again with its key: the first answer, replayed, charged once."""
    again = _post(run, body, key)
    if again is None:  # the connection dropped (a web kill): the client sends it once more
        time.sleep(_RETRY_PAUSE_S)
        again = _post(run, body, key)
    if again is None or again.status != 202 or _body(again).get("request_id") != record.request_id:
        record.problem = f"replay answered {again and again.status} {again and again.body[:200]!r}"
    elif again.headers.get("Idempotent-Replayed") != "true":
        record.problem = "replay lacks Idempotent-Replayed: true"


def async_upscale(run: Run, client: int, sample: Sample, scale: int, replay: bool) -> list[Record]:
    body, key = {"image": sample.uri(), "scale": scale, "async": True}, str(uuid.uuid4())

    def once(record: Record) -> bool:
        answer = _submit(run, record, body, key)
        if answer is None:
            return True
        if answer.status != 202:
            _judge_failure(record, answer)
            return answer.status >= 500
        if _body(answer).get("success") is not True or _body(answer).get("status") == "failed":
            record.problem = f"202 for a job that had already failed: {answer.body[:200]!r}"
            return False
        if replay:
            _replay(run, record, body, key)
        _poll(run, record, str(_body(answer)["status_url"]), sample, scale)
        return False

    return _retrying(run, lambda attempt: Record(client, "async", f"x{scale}", run.now(), attempt=attempt, key=key),
                     once)


def _bad_bodies(sample: Sample, rng: random.Random) -> dict[str, tuple[dict[str, Any], str]]:
    """Broken requests a client sends by mistake, each with the error code the contract names."""
    png = sample.data if sample.format == "png" else _encode(Image.open(io.BytesIO(sample.data)), "png")
    return {
        "corrupt": ({"image": sample.uri(b"\x89PNG\r\n\x1a\n" + rng.randbytes(400))}, "invalid_image_format"),
        "truncated": ({"image": "data:image/png;base64," + base64.b64encode(png[: len(png) // 2]).decode()},
                      "invalid_image_format"),
        "scale-8": ({"image": sample.uri(), "scale": 8}, "invalid_scale"),
        "bad-base64": ({"image": "data:image/png;base64,@@not*base64!!"}, "invalid_image_format"),
    }


def bad_input(run: Run, client: int, sample: Sample, rng: random.Random) -> list[Record]:
    variant, (body, expected) = rng.choice(sorted(_bad_bodies(sample, rng).items()))
    record = Record(client, "bad-input", variant, run.now())
    answer = _post(run, body, None)
    record.answered = record.ended = run.now()
    if answer is None:
        record.problem = NO_ANSWER
        return [record]
    record.status, record.code = answer.status, _error_code(answer)
    record.request_id = str(_body(answer).get("request_id", ""))
    if answer.status >= 500:
        # An outage answers before the image is read (the cache behind the burst limit is
        # down): a documented 5xx, which the audit holds to the fault it overlapped.
        _judge_failure(record, answer)
    elif (answer.status, record.code) != (400, expected):
        record.problem = f"expected 400 {expected}, got {answer.status} {record.code}"
    return [record]


def one_request(run: Run, client: int, rng: random.Random, samples: list[Sample]) -> list[Record]:
    kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    sample = rng.choice(samples)
    if kind == "bad-input":
        return bad_input(run, client, sample, rng)
    if kind == "async":
        return async_upscale(run, client, sample, rng.choice((2, 4)), replay=rng.random() < 1 / 3)
    return sync_upscale(run, client, sample, 2 if kind == "sync-x2" else 4, kind)


def client(run: Run, index: int, seed: int, samples: list[Sample]) -> None:
    """One client thread: a request at a time (async jobs polled to their end) until stopped."""
    rng = random.Random(seed * 1000 + index)
    while run.ticket():
        for record in one_request(run, index, rng, samples):
            run.add(record)
