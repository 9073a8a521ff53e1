"""Request and response models: what /openapi.json promises, and what bad input gets back."""

from typing import Dict, List, Optional

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer: a short machine-readable kind and a sentence for people."""

    error: str = Field(..., description="kind of failure, e.g. too_large, unknown_ids, invalid_request")
    detail: str = Field(..., description="what was wrong and what to do (never a server path)")
    ids: Optional[List[str]] = Field(None, description="unknown ids (first 100), for unknown_ids only")


def error_responses(*statuses):
    """The ``responses=`` entry documenting each status with ErrorBody."""
    text = {400: "Unreadable request body", 404: "Unknown id or feature", 408: "Request not received in time",
            413: "Body, id list or response over its limit", 415: "Not an image / unsupported format",
            422: "Invalid field or unreadable image"}
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}


class EmbeddingsRequest(BaseModel):
    ids: List[str] = Field(..., min_length=1, description="movie ids; at most --max-ids per request")
    feature: Optional[str] = Field(None, description="feature name; default: the poster feature the models use")


class Prediction(BaseModel):
    genres: List[str]
    probabilities: Dict[str, float]
    thresholds: Dict[str, float] = Field(..., description="each genre's tuned cut: predicted when probability >= it")
    model: str = Field(..., description="<config>/<decade or pooled>")
    decade: Optional[int]
    warning: Optional[str]
    notes: List[str] = Field(default_factory=list, description="remarks on the answering model, e.g. "
                             "that it does not beat the constant answer on this decade")


class Embedding(BaseModel):
    id: str
    feature: str
    vector: List[float]


class Embeddings(BaseModel):
    feature: str
    vectors: Dict[str, List[float]] = Field(..., description="id -> vector, in the asked order (repeats once)")


class Neighbour(BaseModel):
    id: str
    similarity: float


class Similar(BaseModel):
    id: str
    feature: str
    similar: List[Neighbour]


class StoreState(BaseModel):
    path: str = Field(..., description="the store's file name (no folder)")
    version: int = Field(..., description="the store version being served")
    movies: int
    checked_at: float = Field(..., description="unix time of the last check for a newer version")
    refresh_seconds: float


class Health(BaseModel):
    status: str
    version: str = Field(..., description="onesheet package version")
    movies: int
    store: StoreState
    providers: Dict[str, List[str]]
