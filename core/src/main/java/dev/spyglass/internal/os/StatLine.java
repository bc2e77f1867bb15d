package dev.spyglass.internal.os;

/** The fields {@link TaskStates} takes from a {@code /proc/PID/task/TID/stat} line. */
final class StatLine {
    private StatLine() {
    }

    /** Field 22 ({@code starttime}) of a stat line, counted after the last {@code ')'}; -1 when malformed. */
    static long startTime(byte[] stat, int length) {
        int i = length - 1;
        while (i >= 0 && stat[i] != ')') {
            i--;
        }
        if (i < 0) {
            return -1;
        }
        // After ')': " S ppid ..." where S is field 3; field 22 is the 20th space-separated token.
        int field = 2;
        i++;
        while (i < length) {
            if (stat[i] == ' ') {
                field++;
                i++;
                if (field == 22) {
                    long v = 0;
                    int digits = 0;
                    while (i < length && stat[i] >= '0' && stat[i] <= '9') {
                        v = v * 10 + (stat[i++] - '0');
                        digits++;
                    }
                    return digits > 0 ? v : -1;
                }
            } else {
                i++;
            }
        }
        return -1;
    }

    /** The state letter after the last {@code ')'} of a stat line ({@code comm} may hold parentheses). */
    static TaskStates.RunState state(byte[] stat, int length) {
        for (int i = length - 1; i >= 0; i--) {
            if (stat[i] == ')') {
                if (i + 2 < length) {
                    byte c = stat[i + 2];
                    return c == 'R' ? TaskStates.RunState.RUNNING : TaskStates.RunState.SLEEPING;
                }
                return TaskStates.RunState.UNKNOWN;
            }
        }
        return TaskStates.RunState.UNKNOWN;
    }
}
