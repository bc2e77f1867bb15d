package dev.spyglass.examples;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The {@code spyglass} command line: {@code record}, {@code convert}, {@code dump}, {@code top}, {@code agent}. */
@Command(name = "spyglass", mixinStandardHelpOptions = true, version = "spyglass 0.1.0-SNAPSHOT",
        description = "Samples the Python stacks of a running CPython process from outside.",
        subcommands = {CommandLine.HelpCommand.class})
public final class SpyglassCli implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    /**
     * No command given: a bad command line (status 2, as a missing option value is), answered with the text
     * {@code spyglass --help} prints, so the commands are listed and not only {@code help}.
     */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return Failures.USAGE;
    }

    /** The command line with its subcommands, printing to the given streams. */
    static CommandLine commandLine(PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(new SpyglassCli());
        cl.setErr(new PrintWriter(err, true));
        cl.addSubcommand("record", new RecordCommand(err));
        cl.addSubcommand("convert", new ConvertCommand(err));
        cl.addSubcommand("dump", new DumpCommand(out, err));
        cl.addSubcommand("top", new TopCommand(out, err));
        cl.addSubcommand("agent", new AgentCommand(err));
        cl.addSubcommand("leaks", new LeaksCommand(out, err));
        cl.addSubcommand("latency", new LatencyCommand(out, err));
        cl.addSubcommand("trace", new TraceCommand(out, err));
        return cl;
    }

    public static void main(String[] args) {
        System.exit(commandLine(System.out, System.err).execute(args));
    }
}
