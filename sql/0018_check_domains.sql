-- Single-column CHECK constraints become domain constraints (docs/architecture.md "Constraints").
--
-- Why: PostgreSQL 15 keeps a table's CHECK constraints in the relation cache as text, and every
-- statement that writes the table parses them again (stringToNode) and plans them before the
-- first row is checked; the journal trigger pays that once per statement for each of
-- journal_events' twenty checks. For a single create over REST (five tables, about eighty
-- checks) that was about a quarter of the database's CPU. A domain's constraints are parsed
-- once per session and kept in the type cache until the domain changes, so the same rules cost
-- a fraction: a table with twelve such checks takes about three times the single-row inserts
-- per second once they are domains. Set-based inserts gain nothing (there the checks are
-- prepared once per statement anyway), and lose nothing.
--
-- What stays the same: the rule itself (the constraint keeps its name and its expression, with
-- the column replaced by VALUE), the SQLSTATE (23514 check_violation), and the message naming
-- the column: each column gets its own domain, <table>__<column>, so "value for domain
-- positions__description violates check constraint positions_description_check" says where.
-- Checks over several columns (payment_options_check, outbox_delivered_when...) stay on their
-- tables: they are few and they relate columns, which a domain cannot.
--
-- How: a column's type changes to a domain that has no constraint yet, which is binary
-- compatible and rewrites nothing (indexes are kept); the constraint is then added to the
-- domain NOT VALID. Existing rows already satisfied the identical table constraint dropped in
-- the same transaction, so validating would only scan the journal to learn nothing; a NOT VALID
-- domain constraint is enforced on every new and updated value all the same. Later migrations
-- that add a one-column rule write it as a domain too.

-- The trigger's WHEN clause reads positions.status, and PostgreSQL refuses to change the type
-- of a column a trigger definition uses; it is created again, identical, below.
DROP TRIGGER positions_outbox_event ON positions;

DO $$
DECLARE
    t         record;
    c         record;
    domain    text;
    def       text;
    clauses   text[];
    adds      text[];
    altered   text[] := '{}';
BEGIN
    FOR t IN
        SELECT DISTINCT r.oid, r.relname
          FROM pg_constraint k
          JOIN pg_class r ON r.oid = k.conrelid
          JOIN pg_namespace n ON n.oid = r.relnamespace
         WHERE k.contype = 'c' AND cardinality(k.conkey) = 1 AND n.nspname = current_schema()
           -- partitions inherit their parent's constraints and column types
           AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = r.oid)
         ORDER BY r.relname
    LOOP
        clauses := '{}';
        adds := '{}';
        FOR c IN
            SELECT k.conname, a.attname, format_type(a.atttypid, a.atttypmod) AS type_name,
                   coll.collname, pg_get_constraintdef(k.oid) AS def
              FROM pg_constraint k
              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
              -- a column's own collation (COLLATE "C" on codes) must survive the new type
              LEFT JOIN pg_collation coll
                     ON coll.oid = a.attcollation
                    AND a.attcollation <> (SELECT typcollation FROM pg_type WHERE oid = a.atttypid)
             WHERE k.conrelid = t.oid AND k.contype = 'c' AND cardinality(k.conkey) = 1
             ORDER BY a.attnum, k.conname
        LOOP
            IF position('__' IN t.relname) > 0 OR position('__' IN c.attname) > 0 THEN
                RAISE EXCEPTION 'cannot name a domain for %.%: the names contain "__"',
                    t.relname, c.attname;
            END IF;
            -- A column name inside a string literal would be rewritten too; no such rule exists,
            -- and this keeps one from being changed silently.
            IF regexp_count(c.def, '\m' || c.attname || '\M')
               <> regexp_count(regexp_replace(c.def, '''([^'']|'''')*''', '', 'g'),
                               '\m' || c.attname || '\M') THEN
                RAISE EXCEPTION 'constraint % mentions its column inside a literal: translate it '
                    'by hand', c.conname;
            END IF;
            def := regexp_replace(c.def, '"' || c.attname || '"', 'VALUE', 'g');
            def := regexp_replace(def, '\m' || c.attname || '\M', 'VALUE', 'g');
            domain := t.relname || '__' || c.attname;

            EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', t.relname, c.conname);
            IF to_regtype(quote_ident(domain)) IS NULL THEN
                EXECUTE format('CREATE DOMAIN %I AS %s', domain, c.type_name);
                clauses := clauses || format('ALTER COLUMN %I TYPE %I%s', c.attname, domain,
                    CASE WHEN c.collname IS NULL THEN ''
                         ELSE ' COLLATE ' || quote_ident(c.collname) END);
            END IF;
            adds := adds || format('ALTER DOMAIN %I ADD CONSTRAINT %I %s NOT VALID',
                                   domain, c.conname, def);
        END LOOP;
        EXECUTE format('ALTER TABLE %I %s', t.relname, array_to_string(clauses, ', '));
        FOREACH def IN ARRAY adds LOOP
            EXECUTE def;
        END LOOP;
        altered := altered || t.relname::text;
    END LOOP;

    -- Changing a column's type forgets its statistics; the planner needs them back at once.
    FOREACH domain IN ARRAY altered LOOP
        EXECUTE format('ANALYZE %I', domain);
    END LOOP;
END
$$;

CREATE TRIGGER positions_outbox_event AFTER UPDATE OF status ON positions
    FOR EACH ROW WHEN (NEW.status IN ('CANCELLED', 'EXPIRED') AND OLD.status <> NEW.status)
    EXECUTE FUNCTION positions_outbox_event();
