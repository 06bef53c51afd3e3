"""The showcase: the demo (``pyfast-nlp demo``) and its HTML report. It uses the library and is
never used by it."""
