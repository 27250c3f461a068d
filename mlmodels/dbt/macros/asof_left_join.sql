{#- Left-join to each left row the latest right row whose `right_ts` is strictly before
    `left_ts` (for the same key): the state of an entity as it was at the cutoff. -#}
{% macro asof_left_join(right, alias, right_key, left_key, right_ts, left_ts) -%}
    {{ return(adapter.dispatch('asof_left_join', 'mlmodels')(
        right, alias, right_key, left_key, right_ts, left_ts)) }}
{%- endmacro %}

{% macro default__asof_left_join(right, alias, right_key, left_key, right_ts, left_ts) -%}
    left join {{ right }} as {{ alias }}
        on {{ alias }}.{{ right_key }} = {{ left_key }}
        and {{ alias }}.{{ right_ts }} = (
            select max(latest.{{ right_ts }})
            from {{ right }} as latest
            where latest.{{ right_key }} = {{ left_key }}
                and latest.{{ right_ts }} < {{ left_ts }}
        )
{%- endmacro %}

{#- DuckDB's ASOF join does the same in one sorted pass instead of a correlated subquery:
    https://duckdb.org/docs/stable/sql/query_syntax/from#as-of-joins -#}
{% macro duckdb__asof_left_join(right, alias, right_key, left_key, right_ts, left_ts) -%}
    asof left join {{ right }} as {{ alias }}
        on {{ alias }}.{{ right_key }} = {{ left_key }}
        and {{ alias }}.{{ right_ts }} < {{ left_ts }}
{%- endmacro %}
