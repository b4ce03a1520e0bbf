// @ts-check

/**
 * One row to lock: creating a restore checks limits and inserts its record in one transaction that first
 * updates this row, so parallel creates (in one backend or several) pass the limits one at a time.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('restore_locks', table => {
    table.comment('Rows locked by transactions that check limits');
    table.string('scope', 32).primary().notNullable();
    table.bigInteger('generation').notNullable().defaultTo(0);
  });
  await knex('restore_locks').insert({ scope: 'create', generation: 0 });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('restore_locks');
};
