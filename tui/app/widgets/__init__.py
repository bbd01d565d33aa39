"""Dashboard widgets: the status header, the two keyed tables, the progress pane."""
