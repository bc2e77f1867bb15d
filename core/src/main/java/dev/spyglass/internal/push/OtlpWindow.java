package dev.spyglass.internal.push;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.internal.export.OtlpProfiles;

/** A window sent as an OTLP/HTTP {@code ExportProfilesServiceRequest} in binary protobuf ({@link OtlpProfiles}). */
public final class OtlpWindow implements PushWindow {
    private final Destination destination;
    private final OtlpProfiles profiles = new OtlpProfiles();

    public OtlpWindow(Destination destination) {
        this.destination = destination;
    }

    @Override
    public void add(StackSample sample) {
        profiles.add(sample);
    }

    @Override
    public long samples() {
        return profiles.samples();
    }

    @Override
    public Payload payload(ProfileMetadata metadata, long startNanos, long endNanos) {
        Map<String, String> resource = new LinkedHashMap<>();
        resource.put("service.name", destination.serviceName());
        resource.put("host.name", destination.host());
        resource.putAll(destination.labels());
        byte[] id = new byte[16];
        ThreadLocalRandom.current().nextBytes(id);
        id[0] |= 1; // an all-zero id means "no id"
        byte[] body = profiles.encode(metadata, resource, startNanos, endNanos, id);
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Content-Type", "application/x-protobuf");
        if (destination.gzip()) {
            body = Destination.gzip(body);
            headers.put("Content-Encoding", "gzip");
        }
        return new Payload(destination.endpoint(), headers, body, profiles.samples());
    }
}
