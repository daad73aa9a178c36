# How long a test waits for a child process (a CLI run, a wheel build, a server's answer) before
# calling it hung. A guard, not a speed target: a CLI run takes about 5 s on idle cores and took
# over 300 s on a 2-core machine at a load average of 17.
HANG_GUARD_S = 1800
