"""The Textual dashboard (screens, widgets, one .tcss). It only calls services."""
