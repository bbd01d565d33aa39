"""Dashboard screens: the main dashboard and its modals (confirm, clear-all, detail,
pickers, QR code, help)."""
