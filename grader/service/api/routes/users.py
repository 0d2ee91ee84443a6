"""Who am I."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import CurrentUser
from ..schemas import UserOut

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", response_model=UserOut)
def read_me(user: CurrentUser) -> UserOut:
    return UserOut(name=user.name, role=user.role.value)
