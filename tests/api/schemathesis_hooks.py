"""Hooks the schemathesis run loads (SCHEMATHESIS_HOOKS): one more check, and our own ids."""

import json
import os

import schemathesis
from hypothesis import strategies as st

MARKER = os.environ.get("FUZZ_MARKER", "OTHER-ORG-SECRET-51c2")
IDS: dict[str, int] = json.loads(os.environ.get("FUZZ_IDS", "{}"))


@schemathesis.check
def no_other_organization_data(ctx, response, case):
    """Another organization's rows all carry a marker text: it never appears in an answer."""
    if MARKER in response.text:
        raise AssertionError("another organization's data in the answer")


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the valid ids are replaced by ids of our own rows, so requests reach real objects."""
    ours = {
        name: IDS[name]
        for name, value in (path_parameters or {}).items()
        if name in IDS and isinstance(value, int) and 1 <= value < 2**31
    }
    if not ours:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, **ours}])
