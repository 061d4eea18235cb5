"""Response-shape switches (``sim.shapes``).

Real gateways disagree on the JSON they return; these switches make the simulator
speak each dialect so clients can be tested against all of them.
"""

from __future__ import annotations

from typing import Any, Final, Literal, TypeAlias, get_args

__all__ = [
    "CreateShape",
    "ErrorShape",
    "NotifyShape",
    "QueryShape",
    "Shapes",
    "StateVocabulary",
]

CreateShape: TypeAlias = Literal["flat", "array", "task_id", "envelope", "mixed"]
QueryShape: TypeAlias = Literal["flat", "artifact", "envelope", "data_list", "array", "official"]
StateVocabulary: TypeAlias = Literal["gateway", "official"]
ErrorShape: TypeAlias = Literal["openai", "detail", "detail_str", "message", "html", "concatenated"]
NotifyShape: TypeAlias = Literal["task", "record"]

_CHOICES: Final[dict[str, tuple[Any, ...]]] = {
    "create": get_args(CreateShape),
    "query": get_args(QueryShape),
    "states": get_args(StateVocabulary),
    "errors": get_args(ErrorShape),
    "notify": get_args(NotifyShape),
}


class Shapes:
    """Which JSON dialect the simulator answers in. Settable at any time.

    Attributes:
        create: Create/extend response: ``"flat"`` (the task object), ``"array"``
            (``[task]``), ``"task_id"`` (``{"task_id": id}``), ``"envelope"``
            (``{"code": 0, "message": "success", "request_id", "data": task}``) or
            ``"mixed"`` (task fields plus ``code``, ``message``, ``request_id`` and
            ``data{task_id, task_status, created_at, updated_at}``).
        create_status: HTTP status of a successful create/extend (200 or 201).
        query: Query response: ``"flat"`` (gpt-best Example A), ``"artifact"``
            (Example B, media under ``artifact``), ``"envelope"``
            (``{"code": 200, "message": "ok", "data": task}``), ``"data_list"``
            (``{"data": [task]}``), ``"array"`` (``[task]``) or ``"official"`` (the
            official Luma Generation object with ``assets.video``).
        states: ``"gateway"`` (pending/processing) or ``"official"`` (queued/dreaming).
            The ``"official"`` query shape always uses the official vocabulary.
        errors: Shape of error bodies: ``"openai"`` (``{"error": {...}}``), ``"detail"``
            (``{"detail": {"reason", "code": 1}}``), ``"detail_str"``
            (``{"detail": "..."}``), ``"message"`` (``{"message": "..."}``), ``"html"``
            (an HTML page) or ``"concatenated"`` (two JSON objects back to back). With
            the default ``"openai"``, errors produced by the upstream Go proxy
            (body validation, unknown task, not completed) keep its ``detail`` shape,
            as a real gateway passes them through; any other value applies to all
            errors.
        notify: notify_hook payload: ``"task"`` (the task object, as the query
            endpoint renders it) or ``"record"`` (the gateway task record wrapping it).

    Example:
        ```python
        sim.shapes.query = "artifact"
        sim.shapes.errors = "detail_str"
        ```
    """

    create: CreateShape
    create_status: int
    query: QueryShape
    states: StateVocabulary
    errors: ErrorShape
    notify: NotifyShape

    def __init__(self) -> None:
        """Start with the defaults: flat shapes, gateway states, OpenAI-style errors."""
        self.reset()

    def reset(self) -> None:
        """Restore every switch to its default."""
        self.create = "flat"
        self.create_status = 200
        self.query = "flat"
        self.states = "gateway"
        self.errors = "openai"
        self.notify = "task"

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _CHOICES:
            if value not in _CHOICES[name]:
                raise ValueError(f"shapes.{name} must be one of {_CHOICES[name]}, got {value!r}")
        elif name == "create_status":
            if not isinstance(value, int) or not 200 <= value <= 299:
                raise ValueError(f"shapes.create_status must be a 2xx int, got {value!r}")
        else:
            raise AttributeError(f"Shapes has no setting {name!r}")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in [*_CHOICES, "create_status"]
        )
        return f"Shapes({fields})"
