"""Cost model: a versioned, dated price table shipped as data, and pure per-target monthly estimators."""
