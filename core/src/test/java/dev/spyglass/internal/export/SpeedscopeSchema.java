package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

/** Validates files against the JSON schema the speedscope npm package ships, with ajv run by node. */
final class SpeedscopeSchema {
    private static final String VALIDATE = """
            const Ajv = require('ajv');
            const fs = require('fs');
            const schema = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
            const data = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
            const ajv = new Ajv({allErrors: true, strict: false});
            const validate = ajv.compile(schema);
            if (!validate(data)) {
              console.log(JSON.stringify(validate.errors));
              process.exit(1);
            }
            console.log('valid');
            """;

    private SpeedscopeSchema() {
    }

    static Path schema() {
        TestTools.assumeNodePackages("speedscope", "ajv");
        return TestTools.nodeModules().resolve("speedscope/dist/release/file-format-schema.json");
    }

    /** The validator's verdict: "valid", or ajv's errors as JSON. */
    static TestTools.Result validate(Path file) throws Exception {
        TestTools.Result r = TestTools.node(VALIDATE, schema().toString(), file.toString());
        assertThat(r.stderr()).as("node stderr").isEmpty();
        return r;
    }
}
