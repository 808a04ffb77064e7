"""The curated public API: ``__all__`` lists exactly the public names and each resolves."""

import inspect

import proofdesk


def test_all_matches_public_names() -> None:
    public = {
        name
        for name in dir(proofdesk)
        if not name.startswith("_") and not inspect.ismodule(getattr(proofdesk, name))
    }
    assert set(proofdesk.__all__) == public
    assert callable(proofdesk.verify) and callable(proofdesk.read_evidence)
