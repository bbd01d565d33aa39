"""The dashboard screen, one module per responsibility (`DashboardScreen` composes them):

* `screen` - `DashboardScreen`: layout, mount, the `check_action` gate, help and palette;
* `base` - the collaborators it is built with and the state its parts share;
* `panes` - what is shown: both panes, the header, filter, marks, focus, detail, scope;
* `refresh` - the refresh cycle (worker, messages, timer re-arm, pause), record watcher;
* `operations` - running lifecycle operations: workers, step events, bar, cancel, quit;
* `mutations` - the mutating actions: a request, its plan confirmed, the plan run.
"""

from tui.app.screens.dashboard.screen import DashboardScreen

__all__ = ["DashboardScreen"]
