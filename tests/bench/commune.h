/*
 * commune.h - a commune (xa) as the benchmarks fill checklists for it:
 * its unit code and its name (ntm_answers.h writes the name into the
 * references an inspector types; harness.c lists Hà Tĩnh's).
 */
#ifndef BENCH_COMMUNE_H
#define BENCH_COMMUNE_H

struct commune {
    char code[16];
    char name[96];
};

#endif
