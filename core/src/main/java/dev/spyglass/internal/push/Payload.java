package dev.spyglass.internal.push;

import java.net.URI;
import java.util.Map;

/**
 * One request ready to send: the encoded profile of one window and where it goes.
 *
 * @param uri     the full request address (Pyroscope's carries the window's name, labels and times)
 * @param headers content type and encoding of {@code body}
 * @param body    the request body, compressed when the format asks for it
 * @param samples how many samples it holds: what is lost, and counted, when it is dropped
 */
public record Payload(URI uri, Map<String, String> headers, byte[] body, long samples) {
}
