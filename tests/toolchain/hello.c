/* Prints the target it was built for; the toolchain test runs it. */
#include <stdio.h>

int main(void) {
#if defined(__x86_64__)
    const char *cpu = "x86_64";
#elif defined(__aarch64__)
    const char *cpu = "aarch64";
#else
    const char *cpu = "unknown";
#endif
    printf("hello from %s\n", cpu);
    return 0;
}
