-- pgbench script: the service's read_status statement (kReadStatusSql in
-- src/store/pg_stores.cc), with its parameters as pgbench variables:
--   $1 = :schedule_id, $2 = :license_id, $3 = :first_row, $4 = :last_row
-- tests/bench/run passes them with -D. It normally builds this script from
-- the source at run time (so the reference tracks the service's SQL); this
-- copy is the fallback when the statement cannot be found there.
SELECT q.status_code,
       q.queries_ready,
       q.queries_total,
       q.total_rows,
       COALESCE(lq.tasks_scheduled, 0),
       COALESCE(lq.tasks_running, 0),
       CASE WHEN q.status_code = 'SUCCESS' THEN
         (SELECT string_agg(r.data::text, ',' ORDER BY r.row_index)
            FROM result_rows r
           WHERE r.schedule_id = q.schedule_id
             AND r.row_index BETWEEN :first_row AND :last_row)
       END,
       EXTRACT(EPOCH FROM q.finished_at
                          + make_interval(secs => l.retention_seconds))::bigint
  FROM queries q
  JOIN licenses l ON l.id = q.license_id
  LEFT JOIN license_queues lq ON lq.license_id = q.license_id
 WHERE q.schedule_id = :schedule_id
   AND q.license_id = :license_id
   AND (q.finished_at IS NULL
        OR q.finished_at > now() - make_interval(secs => l.retention_seconds));
