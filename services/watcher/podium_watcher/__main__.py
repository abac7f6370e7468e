from podium_watcher.main import run_watcher

run_watcher()
