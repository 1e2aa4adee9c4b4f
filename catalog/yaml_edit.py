"""Change values in a YAML file in place, keeping every other byte: comments, layout, quoting, flow style.

ruamel.yaml's composer gives each node's exact position in the text; an edit replaces a node's span,
inserts a line after an existing key, or removes one key's lines. Writing the whole file back through
a YAML emitter would reflow the catalog's hand-laid flow mappings and long lines, which turns a
one-value change into a diff nobody can review.

A patch is a nested dict: a value sets (a dict merges into an existing mapping), ``DELETE`` removes
the key, ``Append([...])`` adds items to a list that lacks them, ``Replace({...})`` replaces a mapping whole.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

DELETE = object()


@dataclass(frozen=True)
class Append:
    items: list


@dataclass(frozen=True)
class Replace:
    value: Any


_PLAIN = re.compile(r"[A-Za-z_][\w.\-/+ ]*")
_RESERVED = {"yes", "no", "true", "false", "null", "on", "off", "y", "n", "~"}


def render(value: Any) -> str:
    """One value as flow-style YAML, the way the catalog writes it (dates and numbers plain)."""
    if isinstance(value, (Append, Replace)):
        value = value.items if isinstance(value, Append) else value.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        value = round(value, 9)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{render(k)}: {render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render(v) for v in value) + "]"
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED and not text.endswith(" "):
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid double-quoted YAML scalar


class EditFailed(Exception):
    """The patch does not fit the file's structure (e.g. a key to append to is not a list)."""


class YamlText:
    """One file's text, its node tree, and the edits recorded against it (applied by ``result``)."""

    def __init__(self, text: str):
        self.text = text
        self.root = YAML(typ="rt").compose(text)
        self._edits: list[tuple[int, int, str, int]] = []

    # ------------------------------------------------------------ lookups

    def item(self, list_key: str, ident: str, id_key: str = "id") -> MappingNode | None:
        """The mapping under top-level ``list_key`` whose ``id_key`` is ``ident``."""
        seq = _get(self.root, list_key)
        if not isinstance(seq, SequenceNode):
            return None
        for node in seq.value:
            key_node = _get(node, id_key) if isinstance(node, MappingNode) else None
            if isinstance(key_node, ScalarNode) and key_node.value == ident:
                return node
        return None

    def _src(self, node: Node) -> str:
        return self.text[node.start_mark.index : self._end(node)]

    def _end(self, node: Node) -> int:
        """Where a node's own text ends (block collections end where the next token starts; skip that)."""
        if isinstance(node, ScalarNode):
            end = node.end_mark.index
            if node.style in ("|", ">"):
                while end > node.start_mark.index and self.text[end - 1] in " \n\r":
                    end -= 1
            return end
        if getattr(node, "flow_style", False):
            return node.end_mark.index
        ends: list[int] = []
        if isinstance(node, MappingNode):
            ends = [self._pair_end(k, v) for k, v in node.value]
        elif isinstance(node, SequenceNode):  # an aliased item is not followed: its marks lie at the anchor
            ends = [self._end(c) for c in node.value if c.start_mark.index >= node.start_mark.index]
        return max(ends, default=node.start_mark.index)

    def _pair_end(self, knode: Node, vnode: Node) -> int:
        """Where a key's value ends in the text. An alias (``*id001``) is composed as the very node it names, whose
        marks lie at the anchor earlier in the file; the alias itself sits on the key's line."""
        if vnode.start_mark.index < knode.start_mark.index:
            return knode.end_mark.index
        return self._end(vnode)

    def _line_after(self, pos: int) -> int:
        nl = self.text.find("\n", pos)
        return len(self.text) if nl < 0 else nl + 1

    # ------------------------------------------------------------ edits

    def _record(self, start: int, end: int, text: str) -> None:
        self._edits.append((start, end, text, len(self._edits)))

    def patch(self, node: MappingNode, patch: dict, after: dict[str, list[str]] | None = None) -> None:
        """Record the edits that apply ``patch`` to ``node``; ``after`` names keys a new key goes after."""
        if node.flow_style:
            self._record(node.start_mark.index, node.end_mark.index, self._flow_map(node, patch))
            return
        for key, change in patch.items():
            pair = _pair(node, key)
            if pair is None:
                if change is not DELETE:
                    self._insert_key(node, key, change, (after or {}).get(key, []))
                continue
            knode, vnode = pair
            if change is DELETE:
                self._delete_pair(knode, vnode)
            elif isinstance(change, dict) and isinstance(vnode, MappingNode):
                self.patch(vnode, change)
            elif isinstance(change, Append):
                self._append(vnode, change.items)
            else:
                value = change.value if isinstance(change, Replace) else change
                if not (isinstance(vnode, ScalarNode) or getattr(vnode, "flow_style", False)):
                    raise EditFailed(f"cannot replace the block value of {key!r} in place")
                self._record(vnode.start_mark.index, vnode.end_mark.index, render(value))

    def _flow_map(self, node: MappingNode, patch: dict) -> str:
        parts, seen = [], set()
        for knode, vnode in node.value:
            key = knode.value
            seen.add(key)
            if key not in patch:
                parts.append(f"{self._src(knode)}: {self._src(vnode)}")
                continue
            change = patch[key]
            if change is DELETE:
                continue
            if isinstance(change, dict) and isinstance(vnode, MappingNode):
                value = self._flow_map(vnode, change)
            elif isinstance(change, Append) and isinstance(vnode, SequenceNode):
                have = [v.value for v in vnode.value if isinstance(v, ScalarNode)]
                value = (
                    "["
                    + ", ".join(
                        [self._src(v) for v in vnode.value] + [render(x) for x in change.items if x not in have]
                    )
                    + "]"
                )
            else:
                value = render(change)
            parts.append(f"{self._src(knode)}: {value}")
        parts += [f"{render(k)}: {render(v)}" for k, v in patch.items() if k not in seen and v is not DELETE]
        return "{" + ", ".join(parts) + "}"

    def _append(self, seq: Node, items: list) -> None:
        if not isinstance(seq, SequenceNode):
            raise EditFailed("expected a list to append to")
        have = [v.value for v in seq.value if isinstance(v, ScalarNode)]
        new = [x for x in items if x not in have]
        if not new:
            return
        if seq.flow_style or not seq.value:
            old = [self._src(v) for v in seq.value]
            self._record(
                seq.start_mark.index, seq.end_mark.index, "[" + ", ".join(old + [render(x) for x in new]) + "]"
            )
            return
        indent = " " * seq.start_mark.column
        pos = self._line_after(self._end(seq))
        self._record(pos, pos, "".join(f"{indent}- {render(x)}\n" for x in new))

    def _insert_key(self, node: MappingNode, key: str, value: Any, after: list[str]) -> None:
        if isinstance(value, (Append, Replace)):
            value = value.items if isinstance(value, Append) else value.value
        indent = node.value[0][0].start_mark.column if node.value else node.start_mark.column
        anchor = next(
            (p for name in after if (p := _pair(node, name)) is not None), node.value[-1] if node.value else None
        )
        pos = self._line_after(self._pair_end(*anchor)) if anchor else self._line_after(node.start_mark.index)
        prefix = "" if pos == 0 or self.text[pos - 1] == "\n" else "\n"
        pad = " " * indent
        if isinstance(value, dict) and key == "architecture":  # the catalog's layout: block, sub-objects in flow
            body = "".join(f"{pad}  {k}: {render(v)}\n" for k, v in value.items())
            self._record(pos, pos, f"{prefix}{pad}{key}:\n{body}")
        else:
            self._record(pos, pos, f"{prefix}{pad}{render(key)}: {render(value)}\n")

    def _delete_pair(self, knode: Node, vnode: Node) -> None:
        start = self.text.rfind("\n", 0, knode.start_mark.index) + 1
        if self.text[start : knode.start_mark.index].strip():
            raise EditFailed(f"cannot remove {knode.value!r}: it shares its line with another key")
        self._record(start, self._line_after(self._end(vnode)), "")

    def result(self) -> str:
        """The text with every recorded edit applied (last position first, so earlier spans stay valid)."""
        text = self.text
        last_start = None
        for start, end, new, _ in sorted(self._edits, key=lambda e: (e[0], e[3]), reverse=True):
            if last_start is not None and end > last_start:
                raise EditFailed("two edits overlap; apply them in separate passes")
            text = text[:start] + new + text[end:]
            last_start = start
        return text


def _pair(node: MappingNode, key: str) -> tuple[Node, Node] | None:
    return next(((k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == key), None)


def _get(node: Node, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    pair = _pair(node, key)
    return pair[1] if pair else None
