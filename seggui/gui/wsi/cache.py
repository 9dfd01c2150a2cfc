"""The decoded tiles both whole-slide views draw from, within a byte budget."""

from __future__ import annotations

from collections import OrderedDict

CACHE_BYTES = 384 * 1024 * 1024  # decoded tiles kept for both views


class TileCache:
    """Decoded tiles by key, the least recently drawn dropped beyond a byte budget."""

    def __init__(self, budget: int = CACHE_BYTES):
        self.budget = budget
        self.bytes = 0
        self._items: OrderedDict[tuple, tuple[object, int]] = OrderedDict()

    def get(self, key: tuple):
        hit = self._items.get(key)
        if hit is None:
            return None
        self._items.move_to_end(key)
        return hit[0]

    def __contains__(self, key: tuple) -> bool:
        return key in self._items

    def put(self, key: tuple, value, size: int) -> None:
        self.pop(key)
        self._items[key] = (value, size)
        self.bytes += size
        while self.bytes > self.budget and len(self._items) > 1:
            _, (_, old) = self._items.popitem(last=False)
            self.bytes -= old

    def pop(self, key: tuple) -> None:
        hit = self._items.pop(key, None)
        if hit is not None:
            self.bytes -= hit[1]

    def held(self) -> list[tuple]:
        return list(self._items)

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0
