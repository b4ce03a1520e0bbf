// @ts-check

/**
 * Restore requests and their lifecycle: who asked, for which entity, from which source into which target,
 * the plan, the approval, the Job created and how it ended. Outlives the Job's TTL.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('restore_requests', table => {
    table.comment('Restore requests made through Backstage');
    table.string('id', 64).primary().notNullable();
    table.string('entity_ref', 255).notNullable().index();
    table.string('owner_ref', 255).nullable().index();
    table.string('cluster', 63).notNullable();
    table.string('namespace', 63).notNullable();
    table
      .string('name', 63)
      .notNullable()
      .comment('The restore (and Job) name');
    table.string('pvc', 253).notNullable();
    table.string('source_name', 63).notNullable();
    table
      .string('source', 2048)
      .notNullable()
      .comment('Where the data comes from, for people');
    table.string('requester', 255).notNullable();
    table.string('phase', 32).notNullable().index();
    table
      .text('request')
      .notNullable()
      .comment('The RestoreRequest as JSON; never secrets');
    table.text('plan').nullable();
    table
      .text('approval')
      .nullable()
      .comment('Rules that matched and the decision, as JSON');
    table.bigInteger('bytes').nullable();
    table.bigInteger('planned_bytes').nullable();
    table.bigInteger('duration_ms').nullable();
    table.string('error_code', 64).nullable();
    table.text('error_message').nullable();
    table.string('created_at', 32).notNullable().index();
    table.string('updated_at', 32).notNullable();
    table.string('job_created_at', 32).nullable();
    table.string('finished_at', 32).nullable();
    table.string('deleted_at', 32).nullable();
    table.index(['cluster', 'namespace', 'name']);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('restore_requests');
};
