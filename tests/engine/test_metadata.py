"""A top-level run's checkpoint metadata, encoded from a cached tail, is byte for byte what serializing it whole gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nbflow.config import root_metadata_bytes, stored_metadata
from nbflow.serde import Serializer, default_serializer

plain = st.one_of(st.text(max_size=20), st.integers(-(2**70), 2**70), st.booleans())
keys = st.one_of(st.sampled_from(["source", "step", "parents", "user", "__nbflow_entrypoint__", "__nb__"]),
                 st.text(max_size=12), st.integers(0, 3))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, plain, max_size=6), st.sampled_from(["input", "loop", "update", "fork"]),
       st.integers(-1, 10**6), st.text(min_size=1, max_size=20))
def test_the_cached_encoding_is_the_whole_encoding(config_metadata, source, step, entrypoint):
    whole = default_serializer.dumps(stored_metadata({"source": source, "step": step, "parents": {}},
                                                     config_metadata, entrypoint))
    got = root_metadata_bytes(default_serializer, source, step, config_metadata, entrypoint)
    assert got is None or got == whole
    if "__nb__" not in config_metadata and all(type(k) is str for k in config_metadata):
        assert got == whole


def test_values_it_cannot_encode_that_way_are_left_to_the_serializer():
    assert root_metadata_bytes(default_serializer, "loop", 1, {"ratio": 0.5}, "wf") is None  # a float
    assert root_metadata_bytes(Serializer(), "loop", 1, {}, "wf") is None  # not nbflow's default serializer
