-- Change notifications for the per-instance status caches. Every instance
-- LISTENs on querystatus_changes and drops what it cached for the query
-- ("q:<schedule_id>") or the license ("l:<license_id>") named in a payload.
-- NOTIFY is delivered at commit, so a committed change reaches every
-- listening instance at once.
--
-- Writers other than the querystatus commands must keep queries.total_rows
-- in step with result_rows (rows load does, in the same transaction); the
-- trigger on queries is what announces new rows.

CREATE FUNCTION querystatus_notify_query() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('querystatus_changes', 'q:' || OLD.schedule_id);
  ELSE
    PERFORM pg_notify('querystatus_changes', 'q:' || NEW.schedule_id);
    IF TG_OP = 'UPDATE' AND OLD.schedule_id <> NEW.schedule_id THEN
      PERFORM pg_notify('querystatus_changes', 'q:' || OLD.schedule_id);
    END IF;
  END IF;
  RETURN NULL;
END;
$$;

CREATE FUNCTION querystatus_notify_license() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'licenses' THEN
    PERFORM pg_notify('querystatus_changes',
                      'l:' || CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
  ELSE
    PERFORM pg_notify('querystatus_changes',
                      'l:' || CASE WHEN TG_OP = 'DELETE' THEN OLD.license_id
                                   ELSE NEW.license_id END);
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER queries_notify
  AFTER INSERT OR UPDATE OR DELETE ON queries
  FOR EACH ROW EXECUTE FUNCTION querystatus_notify_query();

CREATE TRIGGER license_queues_notify
  AFTER INSERT OR UPDATE OR DELETE ON license_queues
  FOR EACH ROW EXECUTE FUNCTION querystatus_notify_license();

CREATE TRIGGER licenses_notify
  AFTER UPDATE OR DELETE ON licenses
  FOR EACH ROW EXECUTE FUNCTION querystatus_notify_license();
