"""The one error a tool raises for bad input, in a structure every edge (CLI, HTTP, LLM) can show."""

from __future__ import annotations


class InvalidInput(ValueError):
    """Bad tool input: names the field, says what is allowed, and suggests close valid values."""

    def __init__(self, message: str, field: str | None = None, suggestions: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.suggestions = list(suggestions or [])

    def to_dict(self) -> dict:
        return {
            "error": {
                "type": "invalid_input",
                "message": self.message,
                "field": self.field,
                "suggestions": self.suggestions,
            }
        }


class NotFound(InvalidInput):
    """A name that exists nowhere (a tool, a view, a conversation, an exercise): HTTP answers 404 for it."""
