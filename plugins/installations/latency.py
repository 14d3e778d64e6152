"""A fixed log-scale latency histogram: percentiles that survive merging days.

Bucket `i` holds latencies in [FLOOR_MS * RATIO**i, FLOOR_MS * RATIO**(i+1)); bucket 0 also
holds everything below, the last bucket everything above. RATIO = 2**(1/8): eight buckets per
doubling, from 0.01 ms to about 12 hours in BUCKETS buckets. A percentile read from merged
buckets is the geometric middle of the bucket holding the wanted rank, so it is within a factor
RATIO**0.5 of a latency in that bucket: at most MAX_RELATIVE_ERROR (4.4 %) off the exact
nearest-rank value. Counts are exact.

Pure: no Django models. `bucket_of` (Python, for the call-event drain) and `bucket_expression`
(SQL, for the live part) compute the same index.
"""

from __future__ import annotations

import math

from django.db.models import F, FloatField, IntegerField, Value
from django.db.models.functions import Cast, Floor, Greatest, Least, Ln

FLOOR_MS = 0.01
RATIO = 2 ** (1 / 8)
BUCKETS = 256
MAX_RELATIVE_ERROR = math.sqrt(RATIO) - 1  # 0.0443

_LOG_RATIO = math.log(RATIO)


def bucket_of(latency_ms: float) -> int:
    if not latency_ms or latency_ms <= FLOOR_MS:
        return 0
    index = math.floor(math.log(latency_ms / FLOOR_MS) / _LOG_RATIO)
    return max(0, min(BUCKETS - 1, index))


def bucket_expression(field: str = "latency_ms"):
    """`bucket_of(field)` as an SQL expression (PostgreSQL; Django supplies LN on SQLite)."""
    ratio = Ln(Greatest(F(field), Value(FLOOR_MS), output_field=FloatField()) / Value(FLOOR_MS))
    index = Floor(ratio / Value(_LOG_RATIO), output_field=FloatField())
    return Cast(
        Least(Greatest(index, Value(0.0)), Value(float(BUCKETS - 1))), output_field=IntegerField()
    )


def representative(bucket: int) -> float:
    """The value reported for a rank that falls in `bucket`: its geometric middle."""
    return round(FLOOR_MS * RATIO ** (bucket + 0.5), 2)


def percentile(counts: dict[int, int], fraction: float) -> float | None:
    """The nearest-rank percentile of a histogram {bucket: count}; None when it is empty."""
    total = sum(counts.values())
    if not total:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            return representative(bucket)
    return representative(max(counts))  # unreachable: seen reaches total
