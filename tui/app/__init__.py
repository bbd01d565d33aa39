"""The Textual dashboard (screens, widgets, one .tcss). It only calls services.

`EvodashApp(service, info, watcher_factory=, clock=, auto_refresh=)` is the entry point;
`tui/cli/dashboard.py` builds it for `evodash` and `evodash --demo`.
"""

from tui.app.info import DashboardInfo

__all__ = ["DashboardInfo", "EvodashApp"]


def __getattr__(name: str):
    if name == "EvodashApp":  # lazy: importing tui.app must not import Textual eagerly
        from tui.app.app import EvodashApp

        return EvodashApp
    raise AttributeError(name)
