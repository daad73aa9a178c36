# How long a test waits for a child process (a CLI run, a wheel build, a server's answer) before
# calling it hung. A guard, not a speed target: on a 2-core machine at a load average of 17 an
# offline CLI run took 308 s and a CLI call that stops on bad input over 100 s.
HANG_GUARD_S = 1800
