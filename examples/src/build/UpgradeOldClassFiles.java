import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassFileVersion;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassModel;
import java.lang.classfile.ClassTransform;
import java.lang.classfile.CodeTransform;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Rewrites the class files of the CLI jar that are older than Java 6 (major version below 50: picocli's, made
 * for Java 5) as Java 8 class files (52) with stack maps, so that JDK 25's ahead-of-time cache can hold them.
 * It skips every "old" class ("Old class has been linked": the cache holds only classes checked by the split
 * verifier), so picocli's ~160 classes were read from the jar and verified by the old type-inferencing
 * verifier at every start (issue 16, docs/performance.md). The bytecode is the same; only the version and the
 * generated StackMapTable differ. Run at build time (JDK 24+, the ClassFile API):
 * {@code java UpgradeOldClassFiles.java JAR}.
 */
public final class UpgradeOldClassFiles {
    private static final int FIRST_SPLIT_VERIFIER_VERSION = 50;
    private static final int TARGET_VERSION = 52;

    public static void main(String[] args) throws IOException {
        Path jar = Path.of(args[0]);
        Path rewritten = jar.resolveSibling(jar.getFileName() + ".upgrading");
        int upgraded = 0;
        try (URLClassLoader jarClasses = new URLClassLoader(new URL[] {jar.toUri().toURL()},
                ClassLoader.getPlatformClassLoader()); ZipFile in = new ZipFile(jar.toFile());
                OutputStream raw = Files.newOutputStream(rewritten); ZipOutputStream out = new ZipOutputStream(raw)) {
            // Stack maps name the common supertypes of values: the JDK's classes and the jar's own.
            ClassFile classFile = ClassFile.of(ClassFile.StackMapsOption.GENERATE_STACK_MAPS,
                    ClassFile.ClassHierarchyResolverOption.of(ClassHierarchyResolver.defaultResolver()
                            .orElse(ClassHierarchyResolver.ofResourceParsing(jarClasses))));
            for (ZipEntry entry : Collections.list(in.entries())) {
                byte[] bytes;
                try (InputStream entryIn = in.getInputStream(entry)) {
                    bytes = entryIn.readAllBytes();
                }
                if (entry.getName().endsWith(".class") && majorVersion(bytes) < FIRST_SPLIT_VERIFIER_VERSION) {
                    bytes = upgrade(classFile, classFile.parse(bytes));
                    upgraded++;
                }
                ZipEntry copy = new ZipEntry(entry.getName());
                copy.setTime(entry.getTime());
                out.putNextEntry(copy);
                out.write(bytes);
                out.closeEntry();
            }
        }
        Files.move(rewritten, jar, StandardCopyOption.REPLACE_EXISTING);
        System.out.println("UpgradeOldClassFiles: " + upgraded + " class files made version " + TARGET_VERSION
                + " in " + jar);
    }

    private static int majorVersion(byte[] classBytes) {
        return classBytes.length < 8 ? Integer.MAX_VALUE : ((classBytes[6] & 0xff) << 8) | (classBytes[7] & 0xff);
    }

    private static byte[] upgrade(ClassFile classFile, ClassModel model) {
        // Every method body is rebuilt element by element (not copied whole), so that its stack maps are made.
        CodeTransform rebuild = (code, element) -> code.with(element);
        ClassTransform newVersion = (cls, element) -> {
            if (element instanceof ClassFileVersion) {
                cls.withVersion(TARGET_VERSION, 0);
            } else {
                cls.with(element);
            }
        };
        return classFile.transformClass(model, newVersion.andThen(ClassTransform.transformingMethodBodies(rebuild)));
    }
}
