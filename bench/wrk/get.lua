-- Plain GET of the URL given to wrk (Cairn config/get, namespace read, strong read, nginx).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
