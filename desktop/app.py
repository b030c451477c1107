"""QApplication setup: theme, single instance, excepthook, log file, first run, main window."""
from __future__ import annotations

import logging
import os
import sys
import traceback

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from desktop import single_instance, theme
from models.runtime import logfile, settings as settings_file
from models.runtime.errors import one_line

log = logging.getLogger("genloom.app")


def install_excepthook(window) -> None:
    """Any uncaught exception on the GUI thread becomes a message; the app keeps running."""

    def hook(kind, value, tb):
        log.error("uncaught exception:\n%s", "".join(traceback.format_exception(kind, value, tb)))
        try:
            window.notify(f"Something went wrong: {one_line(value)} (details in {logfile.path()})", "error")
        except Exception:  # the window itself may be gone during shutdown
            pass

    sys.excepthook = hook


def create_app(argv=None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Genloom")
    app.setOrganizationName("Genloom")
    app.setDesktopFileName("genloom")
    return app


def run_app(provider: str | None = None) -> int:
    logfile.setup()
    app = create_app()
    if os.environ.get("GENLOOM_ALLOW_MULTIPLE") != "1" and single_instance.ask_running_instance_to_show():
        print("genloom: already running; the open window was brought to the front.", file=sys.stderr)
        return 0
    from desktop import dialogs
    from desktop.icons import app_icon
    from desktop.main_window import MainWindow

    theme.apply(app, settings_file.load().get("theme", "system"))
    app.setWindowIcon(app_icon())
    window = MainWindow(provider=provider)
    install_excepthook(window)
    server = single_instance.listen(lambda: (window.showNormal(), window.raise_(), window.activateWindow()))
    window.show()
    log.info("window shown")
    if os.environ.get("GENLOOM_SMOKE") == "1":  # used by the bundle smoke test
        print("window shown", flush=True)
        QTimer.singleShot(500, window.close)
    elif os.environ.get("GENLOOM_SKIP_FIRST_RUN") != "1":
        QTimer.singleShot(300, lambda: dialogs.first_run(window))
    code = app.exec()
    server.close()
    return code
