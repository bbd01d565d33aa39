"""One module per operation: each the only author of its plan and its run (see `tui.lifecycle.registry`)."""
