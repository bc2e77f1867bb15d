package dev.spyglass;

import java.util.List;

/**
 * A function to probe is not where it was asked for: no such symbol (the message lists the closest names), a
 * stripped object (no {@code .symtab}, and the symbol not in {@code .dynsym}: probe it by address instead), no
 * mapped object of that name, or an address in no executable mapping.
 */
public class SymbolNotFoundException extends SpyglassException {
    private static final long serialVersionUID = 1L;

    private final List<String> closestMatches;
    private final boolean stripped;

    /**
     * @param closestMatches the names nearest to the one asked for (edit distance, shared prefix), best first
     * @param stripped       an object searched had no {@code .symtab}, so the function may exist without a name
     *                       (the message then names the object)
     */
    public SymbolNotFoundException(String message, List<String> closestMatches, boolean stripped) {
        super(message);
        this.closestMatches = List.copyOf(closestMatches);
        this.stripped = stripped;
    }

    /** The names nearest to the one asked for, best first (empty when none is close). */
    public List<String> closestMatches() {
        return closestMatches;
    }

    /**
     * Whether the function may be in an object searched that is stripped of its {@code .symtab} (the message names
     * it; then {@link ProbedFunction#at} may help). When every mapped object was searched (no library named), only
     * if no close name was found: most system libraries are stripped, and a close name is likelier a misspelling.
     */
    public boolean stripped() {
        return stripped;
    }
}
