-- read_status: the query, its license's queue and, for SUCCESS only, the
-- requested rows joined into one text in row order (the rows are kept as json
-- text, so they are neither parsed nor re-serialised on the way out). A query
-- of another license, or finished longer ago than its license's retention, is
-- no row.
--   $1 schedule_id, $2 license_id, $3 first row index, $4 last row index
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
             AND r.row_index BETWEEN $3 AND $4)
       END,
       EXTRACT(EPOCH FROM q.finished_at
                          + make_interval(secs => l.retention_seconds))::bigint
  FROM queries q
  JOIN licenses l ON l.id = q.license_id
  LEFT JOIN license_queues lq ON lq.license_id = q.license_id
 WHERE q.schedule_id = $1
   AND q.license_id = $2
   AND (q.finished_at IS NULL
        OR q.finished_at > now() - make_interval(secs => l.retention_seconds))
