-- 0028 A back-office application's positions in id order, for GET .../positions.
--
-- Every application's listing filters on its own application_id and pages by id. With only
-- (entity, status, id) and (entity, application, external_id) to choose from, a page of a small
-- application (the school canteen's ten positions) walked the entity's positions from the
-- cursor on, filtering out every other application's: millions of rows for the last page of an
-- entity whose tax office loaded millions. This index reads about `limit` rows per page.
--
-- Every position write adds one entry to it. On a large existing table the CREATE holds writes
-- to positions for as long as it takes; an operator who cannot afford that creates the index
-- beforehand with CREATE INDEX CONCURRENTLY under this name, and this statement then does
-- nothing.
CREATE INDEX IF NOT EXISTS positions_application_idx
    ON positions (entity_fiscal_code, application_id, id);
