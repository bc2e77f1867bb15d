package dev.spyglass;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The matching of probe records into calls (entries, exits, lost returns, drops), on records written by hand: what
 * the kernel delivers is checked against real interpreters in FunctionProbesTest and the trace/latency ITs; these
 * pin down what the matching makes of orders those runs meet only now and then (a lost return record, a drop with a
 * call open).
 */
class CallMatcherTest {
    private static final int TID = 101;
    private final List<CallEvent> events = new ArrayList<>();
    private final List<Long> pythonReads = new ArrayList<>();
    private final CallMatcher matcher = new CallMatcher(3, 2, new CallMatcher.Names() {
        @Override
        public String symbol(int f, Frame py) {
            return py != null ? py.function() : "f" + f;
        }

        @Override
        public Frame pythonFunction(long address) {
            pythonReads.add(address);
            return Frame.python("handler", "handler", "app.py", 7);
        }
    });

    private void entry(int f, int tid, long time) {
        matcher.record(2 * f, tid, time, 0x1000 + f, time, events::add);
    }

    private void exit(int f, int tid, long time) {
        matcher.record(2 * f + 1, tid, time, 0, time, events::add);
    }

    @Test
    void nestedCallsCloseWithTheirDurationsAndDepths() {
        entry(0, TID, 100);
        entry(1, TID, 150);
        exit(1, TID, 170);
        exit(0, TID, 200);

        assertEquals(List.of(
                new CallEvent(CallEvent.Kind.ENTRY, TID, 100, 0, "f0", 0, -1),
                new CallEvent(CallEvent.Kind.ENTRY, TID, 150, 1, "f1", 1, -1),
                new CallEvent(CallEvent.Kind.EXIT, TID, 170, 1, "f1", 1, 20),
                new CallEvent(CallEvent.Kind.EXIT, TID, 200, 0, "f0", 0, 100)), events);
        assertEquals(1, matcher.hits(0));
        assertEquals(1, matcher.hits(1));
        assertEquals(0, matcher.unmatched());
    }

    @Test
    void anExitWhoseEntryWasNotSeenIsDeliveredWithoutADurationAndCounted() {
        exit(0, TID, 300);

        assertEquals(List.of(new CallEvent(CallEvent.Kind.EXIT, TID, 300, 0, "f0", 0, -1)), events);
        assertEquals(1, matcher.unmatched());
    }

    @Test
    void aLostReturnIsClosedWithTheCallAroundIt() {
        entry(0, TID, 100);
        entry(1, TID, 120); // its return record lost (a full ring, a longjmp)
        exit(0, TID, 200);
        entry(1, TID, 210); // the next call of f1 is outermost again

        assertEquals(new CallEvent(CallEvent.Kind.EXIT, TID, 200, 0, "f0", 0, 100), events.get(2));
        assertEquals(new CallEvent(CallEvent.Kind.ENTRY, TID, 210, 1, "f1", 0, -1), events.get(3));
        assertEquals(1, matcher.unmatched());
    }

    @Test
    void threadsAreMatchedApart() {
        entry(0, TID, 100);
        exit(0, TID + 1, 150);
        exit(0, TID, 180);

        assertEquals(new CallEvent(CallEvent.Kind.EXIT, TID + 1, 150, 0, "f0", 0, -1), events.get(1));
        assertEquals(new CallEvent(CallEvent.Kind.EXIT, TID, 180, 0, "f0", 0, 80), events.get(2));
        assertEquals(1, matcher.unmatched());
    }

    @Test
    void aPythonCallIsNamedByTheFunctionObjectInItsFirstArgument() {
        entry(2, TID, 100);
        exit(2, TID, 130);

        assertEquals(List.of(0x1002L), pythonReads);
        Frame py = Frame.python("handler", "handler", "app.py", 7);
        assertEquals(new CallEvent(CallEvent.Kind.EXIT, TID, 130, 2, "handler", 0, 30, py), events.get(1));
    }

    @Test
    void aThreadThatExitedForgetsItsOpenCalls() {
        entry(0, TID, 100);
        matcher.keepThreads(new int[] {TID + 1}, 1);
        exit(0, TID, 150);

        assertEquals(-1, events.get(1).durationNanos());
        assertEquals(1, matcher.unmatched());
    }

    @Test
    void aDroppedCallOpenOnAThreadIsAbandonedAtItsNextRecordAndItsLaterRecordsAreNotDelivered() {
        long t0 = System.nanoTime();
        entry(0, TID, t0);
        entry(1, TID, t0 + 1);
        long dropped = matcher.drop(1);
        assertEquals(dropped, matcher.drop(1), "a second drop keeps the first one's time");
        assertTrue(matcher.dropped(1));
        exit(1, TID, dropped + 10); // written by the kernel before its close completed: not delivered
        entry(1, TID, dropped + 20);
        assertEquals(2, events.size(), events.toString());

        exit(0, TID, dropped + 30);

        assertEquals(List.of(
                new CallEvent(CallEvent.Kind.ABANDONED, TID, dropped, 1, "f1", 1, -1),
                new CallEvent(CallEvent.Kind.EXIT, TID, dropped + 30, 0, "f0", 0, dropped + 30 - t0)),
                events.subList(2, 4));
        assertEquals(0, matcher.unmatched(), "an abandoned call is not an unmatched one");
    }

    @Test
    void aDroppedCallOnAQuietThreadIsAbandonedOnceLateRecordsHadTheirTime() {
        long t0 = System.nanoTime();
        entry(1, TID, t0);
        long dropped = matcher.drop(1);

        matcher.drained(dropped + CallMatcher.GIVE_UP_NANOS / 2, events::add);
        assertEquals(1, events.size(), "given up before late records could arrive: " + events);
        matcher.drained(dropped + CallMatcher.GIVE_UP_NANOS + 1, events::add);
        matcher.drained(dropped + 2 * CallMatcher.GIVE_UP_NANOS, events::add);

        assertEquals(List.of(new CallEvent(CallEvent.Kind.ABANDONED, TID, dropped, 1, "f1", 0, -1)),
                events.subList(1, events.size()));
    }
}
