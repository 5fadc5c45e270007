# Checked against the compiled module by `python -m mypy.stubtest telhook._core` (make test-python).
from typing import Any, Dict, Optional, Tuple

from typing_extensions import Self, final

from .types import NormalizedEvent, ProviderName

__all__ = ["Flow", "KeptReceivers", "ReceiveSettings", "Receiver", "call", "run_delivery"]

@final
class Receiver:
    def __new__(cls, provider: Optional[str], credentials: str, options: str) -> Self: ...
    def normalize(self, method: str, url: Optional[str], headers: object, body: bytes, now: int) -> NormalizedEvent: ...
    @property
    def max_body_bytes(self) -> int: ...
    def verify(self, method: str, url: Optional[str], headers: object, body: bytes, now: int) -> ProviderName: ...

@final
class ReceiveSettings:
    def __new__(cls, settings: str) -> Self: ...

@final
class Flow:
    @staticmethod
    def start(
        settings: ReceiveSettings, method: str, headers: object, url: Optional[str] = None
    ) -> Tuple[Flow, Dict[str, Any]]: ...
    def next(self, input: str) -> Dict[str, Any]: ...
    def normalize(
        self, receiver: Receiver, body: bytes, now: int
    ) -> Tuple[Dict[str, Any], Optional[Dict[str, Any]], Optional[BaseException]]: ...
    def snapshot(self) -> Flow: ...
    @property
    def provider(self) -> Optional[str]: ...

@final
class KeptReceivers:
    def __new__(cls, capacity: int) -> Self: ...
    def find(
        self, provider: object, credentials: object, max_body_bytes: object, public_url: object,
        trust_forwarded_headers: object,
    ) -> Any: ...  # the Receiver kept for these arguments, or None
    def keepable(
        self, provider: object, credentials: Any, max_body_bytes: object, public_url: object,
        trust_forwarded_headers: object,
    ) -> Tuple[Any, bool]: ...
    def keep(
        self, provider: object, credentials: object, max_body_bytes: object, public_url: object,
        trust_forwarded_headers: object, receiver: object,
    ) -> None: ...
    def clear(self) -> None: ...
    def counts(self) -> Tuple[int, int, int]: ...

def run_delivery(
    delivery: object, method: str, url: Optional[str], headers: object, body: object, handler: object
) -> object: ...
def call(name: str, args: str, data: bytes = ...) -> str: ...
