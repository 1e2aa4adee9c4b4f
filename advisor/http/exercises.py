"""POST /api/exercises/{number}: run a guided exercise (1 chatbot selection, 2 cost analysis, 3 benchmark research)
as a conversation. Exercise 2's assumptions are checked and resolved by the core (exercises.CostAssumptions)."""

from __future__ import annotations

import functools

from fastapi import APIRouter, Request
from pydantic import ConfigDict, Field

from advisor import exercises
from advisor.http.errors import NOT_FOUND
from advisor.http.pools import turn_thread
from advisor.users import user_of

router = APIRouter(tags=["exercises"])


class ExerciseRequest(exercises.CostAssumptions):
    model_config = ConfigDict(extra="forbid", str_max_length=200)
    family: str = Field(default="llama", description="exercise 3: llama, qwen or mistral")


@router.post("/api/exercises/{number}", responses=NOT_FOUND)
async def run_exercise(number: int, request: Request, body: ExerciseRequest | None = None):
    """Run a guided exercise (1 chatbot selection, 2 cost analysis, 3 benchmark research) as a conversation."""
    body = body or ExerciseRequest()
    if number not in exercises.EXERCISES:
        raise exercises.ExerciseNotFound("exercise must be 1, 2 or 3", field="number")
    cost = body.resolve() if number == 2 else None  # InvalidInput naming the field: 422
    # a whole conversation: its turns wait in the turn pool, not in the one quick routes share
    result = await turn_thread(
        functools.partial(
            exercises.run,
            request.app.state.advisor,
            number,
            family=body.family,
            cost=cost,
            user=user_of(request.headers),
        )
    )
    return result.as_dict()
