package dev.spyglass.examples;

import java.io.PrintStream;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code spyglass} command line: {@code record}, {@code dump}, {@code top}. */
@Command(name = "spyglass", mixinStandardHelpOptions = true, version = "spyglass 0.1.0-SNAPSHOT",
        description = "Samples the Python stacks of a running CPython process from outside.",
        subcommands = {CommandLine.HelpCommand.class})
public final class SpyglassCli implements Callable<Integer> {

    @Override
    public Integer call() {
        new CommandLine(this).usage(System.out);
        return 0;
    }

    /** The command line with its subcommands, printing to the given streams. */
    static CommandLine commandLine(PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(new SpyglassCli());
        cl.addSubcommand("record", new RecordCommand(err));
        cl.addSubcommand("dump", new DumpCommand(out, err));
        cl.addSubcommand("top", new TopCommand(out, err));
        return cl;
    }

    public static void main(String[] args) {
        System.exit(commandLine(System.out, System.err).execute(args));
    }
}
