// Anchors the precompiled header target; it compiles nothing of its own.
