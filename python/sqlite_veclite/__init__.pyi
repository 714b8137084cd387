from typing import Any, Callable, Iterable, Optional, Sequence, SupportsFloat, Union

__version__: str

def loadable_path() -> str: ...
def load(conn: Any) -> None: ...
def serialize_float32(vector: Union[Iterable[SupportsFloat], Any]) -> bytes: ...
def bulk_insert(
    conn: Any,
    table: str,
    rows: Iterable[Sequence[Any]],
    columns: Optional[Sequence[str]] = ...,
    *,
    batch: int = ...,
    progress: Union[None, bool, Callable[[int, Optional[int]], Any]] = ...,
    total: Optional[int] = ...,
) -> int: ...
