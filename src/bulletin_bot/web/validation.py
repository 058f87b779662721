"""A request whose parameters FastAPI refused, told in one short Chinese sentence: which
parameter and what it must be, never pydantic's English error records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

NAMES = {"q": "问题 q", "top_k": "结果条数 top_k", "offset": "起始位置 offset", "file": "文件 file"}


def _one(error: Mapping[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("query", "body", "path", "header")]
    name = NAMES.get(loc[-1], loc[-1]) if loc else "参数"
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"缺少{name}"
    if kind == "string_too_short":
        return f"{name} 不能为空"
    if kind == "string_too_long":
        return f"{name} 太长（最多 {ctx.get('max_length', '')} 个字）"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{name} 应是整数"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{name} 不能小于 {ctx.get('ge', ctx.get('gt', ''))}"
    if kind in ("less_than_equal", "less_than"):
        return f"{name} 不能大于 {ctx.get('le', ctx.get('lt', ''))}"
    return f"{name} 的值不对"


def validation_message(errors: Iterable[Mapping[str, Any]]) -> str:
    """"参数有误：问题 q 不能为空。" for FastAPI's `RequestValidationError.errors()`."""
    parts = list(dict.fromkeys(_one(e) for e in errors))
    return "参数有误：" + "；".join(parts or ["请检查后再试"]) + "。"
