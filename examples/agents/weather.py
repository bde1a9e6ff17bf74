"""Weather: reads config/weather.yaml with open() and reports it on http://127.0.0.1:8702/.

Edit config/weather.yaml and only this agent restarts (meshdev saw it open the file).
"""

import os
import time

from _http import serve
from forecast import describe

import meshdev

PORT = int(os.environ.get("WEATHER_PORT", "8702"))
CONFIG = os.path.join(os.path.dirname(__file__), "config", "weather.yaml")


def load_settings() -> dict[str, str]:
    settings = {}
    with open(CONFIG, encoding="utf-8") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if value.strip() and not key.startswith("#"):
                settings[key.strip()] = value.strip()
    return settings


if __name__ == "__main__":
    settings = load_settings()
    serve(PORT, lambda: {"agent": "weather", "pid": os.getpid(), "report": describe(settings)})
    print(f"{describe(settings)} — serving on http://127.0.0.1:{PORT}/")
    meshdev.ready()
    while True:
        time.sleep(3600)
