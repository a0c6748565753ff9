/* temporary: removed when rules/expr.c lands */
int rs_rules_placeholder(void);
int rs_rules_placeholder(void) { return 0; }
